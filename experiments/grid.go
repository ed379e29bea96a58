package experiments

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Cell is one combination of axis values and one seed.
type Cell struct {
	// ID is stable across runs: the group and the seed.
	ID string
	// Group names the combination of axis values without the seed
	// ("algo=bc train.steps=500"); cells of a group differ only by seed.
	Group string
	// Params maps each axis key to this cell's value, in axis order.
	Params []Param
	Seed   int
	// Spec is the experiment with this cell's values applied.
	Spec Spec
}

// Param is one axis value of a cell.
type Param struct {
	Key   string
	Value any
}

// Axes returns the axis keys in order, including keys only given in include entries.
func (e *Experiment) Axes() []string {
	var keys []string
	for _, a := range e.Spec.Grid.Axes {
		keys = append(keys, a.Key)
	}
	return keys
}

// combinations expands axes × include − exclude, in a stable order.
func (e *Experiment) combinations() ([][]Param, error) {
	g := e.Spec.Grid
	combos := [][]Param{{}}
	for _, ax := range g.Axes {
		var next [][]Param
		for _, c := range combos {
			for _, v := range ax.Values {
				nc := append(append([]Param(nil), c...), Param{ax.Key, normalize(v)})
				next = append(next, nc)
			}
		}
		combos = next
	}
	for _, inc := range g.Include {
		var c []Param
		for _, ax := range g.Axes {
			c = append(c, Param{ax.Key, normalize(inc[ax.Key])})
		}
		if !containsCombo(combos, c) {
			combos = append(combos, c)
		}
	}
	var out [][]Param
	for _, c := range combos {
		if !excluded(c, g.Exclude) {
			out = append(out, c)
		}
	}
	return out, nil
}

func containsCombo(list [][]Param, c []Param) bool {
	for _, x := range list {
		if groupName(x) == groupName(c) {
			return true
		}
	}
	return false
}

func excluded(c []Param, rules []map[string]any) bool {
	for _, r := range rules {
		match := true
		for _, p := range c {
			if v, ok := r[p.Key]; ok && !equalValue(v, p.Value) {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}

func equalValue(a, b any) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func groupName(c []Param) string {
	if len(c) == 0 {
		return "all"
	}
	parts := make([]string, len(c))
	for i, p := range c {
		parts[i] = p.Key + "=" + valueString(p.Value)
	}
	return strings.Join(parts, " ")
}

// withoutSecrets is c with the values of secret-looking lm.config keys
// (secretNames) replaced, for an error that must not repeat them.
func withoutSecrets(c []Param) []Param {
	out := make([]Param, len(c))
	for i, p := range c {
		out[i] = p
		if m, ok := p.Value.(map[string]any); ok && p.Key == "lm.config" {
			r := map[string]any{}
			for k, v := range m {
				if secretNames[strings.ToLower(k)] {
					v = "…"
				}
				r[k] = v
			}
			out[i].Value = r
		}
	}
	return out
}

func valueString(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return `""`
		}
		return x
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// Cells expands the grid into cells: every combination times every seed.
func (e *Experiment) Cells() ([]Cell, error) {
	combos, err := e.combinations()
	if err != nil {
		return nil, err
	}
	var cells []Cell
	for _, c := range combos {
		raw := deepCopy(e.raw).(map[string]any)
		for _, p := range c {
			setPath(raw, p.Key, p.Value)
		}
		var spec Spec
		errs := &FieldErrors{Source: e.Source}
		(&decoder{errs: errs, src: e.src}).decode("", raw, reflect.ValueOf(&spec).Elem())
		if err := errs.err(); err != nil {
			return nil, err
		}
		spec.Grid = GridSpec{}
		cellExp := &Experiment{Spec: spec, src: e.src.forCell(e.Axes())}
		cellErrs := &FieldErrors{Source: e.Source + " cell " + groupName(withoutSecrets(c))}
		cellExp.validate(cellErrs)
		if err := cellErrs.err(); err != nil {
			return nil, err
		}
		group := groupName(c)
		for seed := 0; seed < spec.Seeds; seed++ {
			cells = append(cells, Cell{
				ID:     fmt.Sprintf("%s seed=%d", group, seed),
				Group:  group,
				Params: c,
				Seed:   seed,
				Spec:   spec,
			})
		}
	}
	return cells, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
