package experiments

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/kalm-go/kalm/internal/suggest"
)

// A decoder turns the merged configuration (nested maps from koanf) into a
// Spec, checking every key and value on the way. It collects every problem
// instead of stopping at the first one.
type decoder struct {
	errs *FieldErrors
	src  *sources
}

var specType = reflect.TypeOf(Spec{})

// fieldsOf lists the koanf keys of a struct type, in declaration order.
func fieldsOf(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if k := t.Field(i).Tag.Get("koanf"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// fieldByKey returns the struct field of t whose koanf tag is key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("koanf") == key {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// leafPaths lists every settable path of Spec for did-you-mean suggestions.
func leafPaths(t reflect.Type, prefix string) []string {
	var out []string
	for _, k := range fieldsOf(t) {
		f, _ := fieldByKey(t, k)
		p := join(prefix, k)
		out = append(out, p)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, leafPaths(f.Type, p)...)
		}
	}
	return out
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// decode sets dst (addressable) from v, reporting problems under path.
func (d *decoder) decode(path string, v any, dst reflect.Value) {
	t := dst.Type()
	if v == nil {
		// "key:" with no value (or --set key=) sets the zero value.
		dst.Set(reflect.Zero(t))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := asMap(v)
		if !ok {
			d.fail(path, v, "is not a table of fields", strings.Join(fieldsOf(t), ", "))
			return
		}
		keys := sortedKeys(m)
		for _, k := range keys {
			f, ok := fieldByKey(t, k)
			if !ok {
				d.unknown(join(path, k), k, fieldsOf(t), m[k])
				continue
			}
			d.decode(join(path, k), m[k], dst.FieldByIndex(f.Index))
		}
	case reflect.String:
		switch x := v.(type) {
		case string:
			dst.SetString(x)
		case int, int64, float64, bool:
			dst.SetString(fmt.Sprint(x))
		default:
			d.fail(path, v, "is not a string", "")
		}
	case reflect.Int:
		n, ok := asInt(v)
		if !ok {
			d.fail(path, v, "is not a whole number", "")
			return
		}
		dst.SetInt(n)
	case reflect.Float64:
		f, ok := asFloat(v)
		if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(path, v, "is not a finite number", "")
			return
		}
		dst.SetFloat(f)
	case reflect.Bool:
		b, ok := asBool(v)
		if !ok {
			d.fail(path, v, "is not a boolean", "true, false")
			return
		}
		dst.SetBool(b)
	case reflect.Slice:
		items, ok := asList(v)
		if !ok {
			d.fail(path, v, "is not a list", "")
			return
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			d.decode(fmt.Sprintf("%s[%d]", path, i), it, s.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		m, ok := asMap(v)
		if !ok {
			d.fail(path, v, "is not a table", "")
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for _, k := range sortedKeys(m) {
			ev := reflect.New(t.Elem()).Elem()
			d.decode(join(path, k), m[k], ev)
			out.SetMapIndex(reflect.ValueOf(k), ev)
		}
		dst.Set(out)
	case reflect.Interface:
		if v != nil {
			dst.Set(reflect.ValueOf(normalize(v)))
		}
	default:
		d.fail(path, v, fmt.Sprintf("cannot be decoded into %s", t), "")
	}
}

func (d *decoder) fail(path string, v any, msg, allowed string) {
	d.errs.add(d.src.at(path), path, v, msg, allowed)
}

func (d *decoder) unknown(path, key string, known []string, v any) {
	msg := "unknown key"
	if s := suggest.Closest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	d.errs.add(d.src.at(path), path, v, msg, strings.Join(known, ", "))
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case nil:
		return map[string]any{}, true
	}
	return nil, false
}

func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case nil:
		return nil, true
	case string: // KALM_EVAL__LEVELS=train,rephrase
		if x == "" {
			return nil, true
		}
		parts := strings.Split(x, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = strings.TrimSpace(p)
		}
		return out, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out, true
	}
	return nil, false
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

// normalize turns parser-specific types into int64, float64, string, bool,
// []any and map[string]any so that equal values hash equally.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
