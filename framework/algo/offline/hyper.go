package offline

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/kalm-go/kalm/framework/algo"
)

// Param is an algo.Param; declared here so algorithm packages need one import.
type Param = algo.Param

// CommonParams are accepted by every algorithm of this package.
var CommonParams = []Param{
	{Name: "hidden", Type: algo.TypeInt, Default: 256, Help: "width of every hidden layer"},
	{Name: "layers", Type: algo.TypeInt, Default: 2, Help: "hidden layers per network"},
	{Name: "normalize_obs", Type: algo.TypeBool, Default: true, Help: "standardise inputs by dataset mean/std, (x−μ)/(σ+1e-3)"},
	{Name: "log_every", Type: algo.TypeInt, Default: 100, Help: "steps between progress reports"},
}

// Schema is the full schema of f: its own parameters plus CommonParams.
func (f Factory) Schema() algo.Schema {
	ps := append(append([]Param(nil), f.Params...), CommonParams...)
	return algo.Schema{Name: f.Name, Spaces: f.Spaces, Params: ps}
}

// Hyper is a resolved set of hyper-parameter values: every schema parameter
// has a value of its declared Go type (float64, int, bool, string).
type Hyper map[string]any

// Resolve checks in against s (unknown names, wrong types, values outside
// Allowed are errors) and fills defaults.
func Resolve(s algo.Schema, in map[string]any) (Hyper, error) {
	h := Hyper{}
	for _, p := range s.Params {
		v, err := convert(p, p.Default)
		if err != nil {
			return nil, fmt.Errorf("%s: default of %q: %w", s.Name, p.Name, err)
		}
		h[p.Name] = v
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := s.Lookup(k)
		if !ok {
			names := make([]string, len(s.Params))
			for i, p := range s.Params {
				names[i] = p.Name
			}
			return nil, fmt.Errorf("%s: unknown hyper-parameter %q (known: %s)", s.Name, k, strings.Join(names, ", "))
		}
		v, err := convert(p, in[k])
		if err != nil {
			return nil, fmt.Errorf("%s: hyper-parameter %q: %w", s.Name, k, err)
		}
		h[k] = v
	}
	return h, nil
}

func convert(p Param, v any) (any, error) {
	switch p.Type {
	case algo.TypeFloat:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("value %v is not finite", x)
			}
			return x, nil
		case float32:
			return convert(p, float64(x))
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
	case algo.TypeInt:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
			return nil, fmt.Errorf("value %v is not an integer", x)
		}
	case algo.TypeBool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
	case algo.TypeString:
		if x, ok := v.(string); ok {
			if len(p.Allowed) > 0 && !slices.Contains(p.Allowed, x) {
				return nil, fmt.Errorf("value %q, want one of %s", x, strings.Join(p.Allowed, ", "))
			}
			return x, nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) is not of type %s", v, v, p.Type)
}

// Float, Int, Bool and String return a resolved value; the name must be in
// the schema (a missing name is a programming error and panics).
func (h Hyper) Float(name string) float64 { return h.get(name).(float64) }
func (h Hyper) Int(name string) int       { return h.get(name).(int) }
func (h Hyper) Bool(name string) bool     { return h.get(name).(bool) }
func (h Hyper) String(name string) string { return h.get(name).(string) }

func (h Hyper) get(name string) any {
	v, ok := h[name]
	if !ok {
		panic("offline: hyper-parameter " + name + " not in schema")
	}
	return v
}

// Dims returns the layer widths in, hidden×layers, out.
func (h Hyper) Dims(in, out int) []int {
	d := []int{in}
	for range h.Int("layers") {
		d = append(d, h.Int("hidden"))
	}
	return append(d, out)
}
