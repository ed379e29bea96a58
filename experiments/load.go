package experiments

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/kalm-go/kalm/internal/suggest"
)

// Options are the layers above the experiment file.
type Options struct {
	// Environ is the process environment ("KEY=value"); variables named
	// KALM_<SECTION>[__<FIELD>...] whose section is a top-level field of the
	// spec are configuration (KALM_TRAIN__STEPS=100 sets train.steps). Other
	// KALM_* variables (KALM_WORKDIR, ...) are left alone.
	Environ []string
	// Set are "key=value" overrides from --set flags, applied last. The
	// value is read as YAML: --set seeds=3, --set eval.levels=[train,rephrase].
	Set []string
}

// Experiment is a loaded and validated experiment.
type Experiment struct {
	Spec Spec
	// Source is the file path, or "shipped:NAME" for an embedded experiment.
	Source string
	// Given is the file's text as written.
	Given []byte
	// Resolved is the merged configuration as canonical JSON.
	Resolved []byte
	// Hash identifies the resolved configuration.
	Hash string
	// Overrides are the layers above the file that set something, as
	// given: "KALM_X=v" for each configuration variable (sorted), then
	// "--set k=v" for each flag in order. Options parses them back
	// (a run records them, so that it can be planned again by its id).
	Overrides []string

	raw map[string]any // merged nested configuration, for cell overrides
	src *sources
}

// Load reads an experiment from a YAML (.yaml, .yml) or TOML (.toml) file
// and applies opts. It returns a *FieldErrors listing every invalid field.
func Load(path string, opts Options) (*Experiment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment file: %w", err)
	}
	return Parse(path, data, opts)
}

// Open loads nameOrPath: an existing file, or else a shipped experiment.
func Open(nameOrPath string, opts Options) (*Experiment, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return Load(nameOrPath, opts)
	}
	if data, ok := shippedFile(nameOrPath); ok {
		return Parse("shipped:"+nameOrPath+".yaml", data, opts)
	}
	var names []string
	for _, s := range Shipped() {
		names = append(names, s.Name)
	}
	msg := fmt.Sprintf("experiment %q: no such file and no shipped experiment of that name (shipped: %s)",
		nameOrPath, strings.Join(names, ", "))
	if s := suggest.Closest(nameOrPath, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, errors.New(msg)
}

// OverrideOptions turns an Experiment's Overrides back into the Options
// that give them.
func OverrideOptions(overrides []string) Options {
	var o Options
	for _, x := range overrides {
		if kv, ok := strings.CutPrefix(x, "--set "); ok {
			o.Set = append(o.Set, kv)
		} else {
			o.Environ = append(o.Environ, x)
		}
	}
	return o
}

// Parse is Load on bytes already read; name chooses the parser by extension.
func Parse(name string, data []byte, opts Options) (*Experiment, error) {
	src := &sources{origin: map[string]string{}, file: filepath.Base(strings.TrimPrefix(name, "shipped:"))}
	k := koanf.New(".")

	// 1. defaults
	def, err := toMap(Defaults())
	if err != nil {
		return nil, err
	}
	if err := k.Load(confmap.Provider(def, ""), nil); err != nil {
		return nil, fmt.Errorf("experiment defaults: %w", err)
	}

	// 2. the file
	var parser koanf.Parser
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".yaml", ".yml":
		parser = yaml.Parser()
		var root yamlv3.Node
		if err := yamlv3.Unmarshal(data, &root); err == nil {
			src.yaml = &root
		}
	case ".toml":
		parser = toml.Parser()
		src.toml = strings.Split(string(data), "\n")
	default:
		return nil, fmt.Errorf("experiment file %s: unknown format %q (allowed: .yaml, .yml, .toml)", name, ext)
	}
	fileMap, err := parser.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("experiment file %s: %w", name, err)
	}
	fileMap = normalize(fileMap).(map[string]any)
	if err := k.Load(confmap.Provider(fileMap, ""), nil); err != nil {
		return nil, fmt.Errorf("experiment file %s: %w", name, err)
	}
	for key := range flatten(fileMap) {
		src.origin[key] = "file"
	}

	// 3. KALM_* environment variables
	top := map[string]bool{}
	for _, f := range fieldsOf(specType) {
		top[f] = true
	}
	envNames := map[string]string{}
	ek := koanf.New(".")
	err = ek.Load(env.Provider(".", env.Opt{
		Prefix:      "KALM_",
		EnvironFunc: func() []string { return opts.Environ },
		TransformFunc: func(name, v string) (string, any) {
			key := strings.ToLower(strings.TrimPrefix(name, "KALM_"))
			key = strings.ReplaceAll(key, "__", ".")
			if !top[strings.SplitN(key, ".", 2)[0]] {
				return "", nil
			}
			envNames[key] = name
			return key, scalar(v)
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("experiment environment: %w", err)
	}
	if err := k.Merge(ek); err != nil {
		return nil, fmt.Errorf("experiment environment: %w", err)
	}
	var overrides []string
	for key, name := range envNames {
		src.origin[key] = "env " + name
		for _, kv := range opts.Environ {
			if strings.HasPrefix(kv, name+"=") {
				overrides = append(overrides, kv)
			}
		}
	}
	sort.Strings(overrides)

	// 4. --set key=value
	for _, kv := range opts.Set {
		key, val, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %q: want key=value, e.g. --set train.steps=1000", kv)
		}
		var v any
		if err := yamlv3.Unmarshal([]byte(val), &v); err != nil {
			v = val
		}
		v = normalize(v)
		if err := k.Set(key, v); err != nil {
			return nil, fmt.Errorf("--set %s: %w", kv, err)
		}
		src.origin[key] = "set --set " + kv
		overrides = append(overrides, "--set "+kv)
		if m, ok := v.(map[string]any); ok {
			for sub := range flatten(m) {
				src.origin[key+"."+sub] = "set --set " + kv
			}
		}
	}

	raw := normalize(k.Raw()).(map[string]any)
	if n, _ := raw["name"].(string); n == "" {
		raw["name"] = strings.TrimSuffix(src.file, filepath.Ext(src.file))
	}
	e := &Experiment{Source: name, Given: data, Overrides: overrides, raw: raw, src: src}
	errs := &FieldErrors{Source: name}
	d := &decoder{errs: errs, src: src}
	d.decode("", raw, reflect.ValueOf(&e.Spec).Elem())
	if errs.err() == nil {
		e.validate(errs)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	// Where the stages run is no part of what the experiment is.
	hashed := make(map[string]any, len(raw))
	for k, v := range raw {
		if k != "executor" {
			hashed[k] = v
		}
	}
	e.Resolved, err = canonicalJSON(hashed)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(e.Resolved)
	e.Hash = hex.EncodeToString(sum[:8])
	// Every cell is checked too: an axis value may break a rule the base
	// configuration keeps.
	if _, err := e.Cells(); err != nil {
		return nil, err
	}
	return e, nil
}

// scalar reads an environment value: numbers and booleans as such, a
// comma-separated value as a list, anything else as a string.
func scalar(v string) any {
	if strings.Contains(v, ",") {
		parts := strings.Split(v, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = scalar(strings.TrimSpace(p))
		}
		return out
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v
}

// toMap converts a struct with koanf tags into nested maps (via JSON field
// names equal to the koanf tags).
func toMap(s Spec) (map[string]any, error) {
	m := map[string]any{}
	var walk func(t reflect.Type, v reflect.Value, out map[string]any)
	walk = func(t reflect.Type, v reflect.Value, out map[string]any) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := f.Tag.Get("koanf")
			if key == "" {
				continue
			}
			fv := v.Field(i)
			switch {
			case f.Type.Kind() == reflect.Struct:
				sub := map[string]any{}
				walk(f.Type, fv, sub)
				out[key] = sub
			case fv.IsZero() && (f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map):
				// leave unset so files can fill it
			default:
				out[key] = fv.Interface()
			}
		}
	}
	walk(specType, reflect.ValueOf(s), m)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return normalize(out).(map[string]any), nil
}

func flatten(m map[string]any) map[string]any {
	out, _ := maps.Flatten(m, nil, ".")
	return out
}

// canonicalJSON encodes v with sorted map keys (encoding/json sorts them).
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// sources remembers which layer set each key and finds file lines.
type sources struct {
	file   string
	origin map[string]string // flattened key → "file", "env NAME", "set --set k=v"
	yaml   *yamlv3.Node
	toml   []string
	// redirect maps a key set by a grid axis to the axis's own path, so
	// that a cell's bad value is reported where the axis gives it.
	redirect map[string]string
}

// forCell returns sources that attribute the cell's axis values to the grid.
func (s *sources) forCell(axes []string) *sources {
	c := *s
	c.redirect = map[string]string{}
	for i, k := range axes {
		c.redirect[k] = fmt.Sprintf("grid.axes[%d].values", i)
	}
	return &c
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// at describes where path was set: "quick.yaml:12", "env KALM_X", "--set k=v".
func (s *sources) at(path string) string {
	if s == nil {
		return ""
	}
	key := indexRE.ReplaceAllString(path, "")
	if to, ok := s.redirect[key]; ok {
		plain := *s
		plain.redirect = nil
		return plain.at(to)
	}
	origin := ""
	for p := key; p != ""; {
		if o, ok := s.origin[p]; ok {
			origin = o
			break
		}
		i := strings.LastIndex(p, ".")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	if origin == "" {
		origin = s.childOrigin(key)
	}
	switch {
	case strings.HasPrefix(origin, "env "):
		return strings.TrimPrefix(origin, "env ")
	case strings.HasPrefix(origin, "set "):
		return strings.TrimPrefix(origin, "set ")
	case origin == "file":
		if line := s.line(path); line > 0 {
			return fmt.Sprintf("%s:%d", s.file, line)
		}
		return s.file
	case origin == "":
		return "defaults"
	}
	return s.file
}

// childOrigin is the origin of some key below key (sections are not keys).
func (s *sources) childOrigin(key string) string {
	best := ""
	for k, o := range s.origin {
		if strings.HasPrefix(k, key+".") && (best == "" || o == "file") {
			best = o
		}
	}
	return best
}

// tomlLine finds the line of the path segs in a TOML file: each key from
// where its parent's starts, and the i-th [[table]] of an array of tables
// for an index ("grid.axes[1].values" is the values of the second
// [[grid.axes]]). An index into an inline array stays on the array's line.
func tomlLine(lines []string, segs []string) int {
	line, from := 0, 0
	var table []string // the dotted path of the current key
	for i := 0; i < len(segs); i++ {
		seg := segs[i]
		if strings.HasPrefix(seg, "[") {
			continue
		}
		table = append(table, seg)
		// An array of tables: its idx-th header.
		if i+1 < len(segs) && strings.HasPrefix(segs[i+1], "[") {
			idx, _ := strconv.Atoi(strings.Trim(segs[i+1], "[]"))
			header := regexp.MustCompile(`^\s*\[\[\s*` + regexp.QuoteMeta(strings.Join(table, ".")) + `\s*\]\]`)
			if j := nthMatch(lines, from, header, idx); j >= 0 {
				line, from = j+1, j+1
				continue
			}
		}
		re := regexp.MustCompile(`^\s*("?` + regexp.QuoteMeta(seg) + `"?\s*=|\[+[^\]]*\b` + regexp.QuoteMeta(seg) + `\]+)`)
		if j := nthMatch(lines, from, re, 0); j >= 0 {
			line, from = j+1, j+1
		}
	}
	return line
}

// nthMatch is the index of the n-th line (from 0) at or after from that re
// matches, or -1.
func nthMatch(lines []string, from int, re *regexp.Regexp, n int) int {
	for j := from; j < len(lines); j++ {
		if re.MatchString(lines[j]) {
			if n == 0 {
				return j
			}
			n--
		}
	}
	return -1
}

var segRE = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

// line finds the line of path in the file, or 0.
func (s *sources) line(path string) int {
	segs := segRE.FindAllString(path, -1)
	if s.yaml != nil && len(s.yaml.Content) > 0 {
		n := s.yaml.Content[0]
		line := 0
		for i := 0; i < len(segs); i++ {
			seg := segs[i]
			switch {
			case strings.HasPrefix(seg, "[") && n.Kind == yamlv3.SequenceNode:
				idx, _ := strconv.Atoi(strings.Trim(seg, "[]"))
				if idx >= len(n.Content) {
					return line
				}
				n = n.Content[idx]
				line = n.Line
			case n.Kind == yamlv3.MappingNode:
				found := false
				// a key may itself contain dots ("train.steps" in include entries)
				for j := len(segs); j > i && !found; j-- {
					want := strings.Join(segs[i:j], ".")
					for c := 0; c+1 < len(n.Content); c += 2 {
						if n.Content[c].Value == want {
							line = n.Content[c].Line
							n = n.Content[c+1]
							i = j - 1
							found = true
							break
						}
					}
				}
				if !found {
					return line
				}
			default:
				return line
			}
		}
		return line
	}
	if s.toml != nil && len(segs) > 0 {
		return tomlLine(s.toml, segs)
	}
	return 0
}
