package openaiapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Schema is the subset of JSON Schema kalm's replies use: objects with
// required properties and no others, arrays of a fixed or bounded length,
// numbers and integers within bounds, and strings of bounded length. It
// marshals to the schema sent in response_format and validates replies
// ([Schema.Validate]), since a server's constrained decoding may be missing
// or partial.
type Schema struct {
	Type                 string             `json:"type"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *bool              `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	MaxItems             *int               `json:"maxItems,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	MinLength            *int               `json:"minLength,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
}

// Object is a schema of an object with exactly the given properties.
func Object(props map[string]*Schema) *Schema {
	req := make([]string, 0, len(props))
	for k := range props {
		req = append(req, k)
	}
	sort.Strings(req)
	no := false
	return &Schema{Type: "object", Properties: props, Required: req, AdditionalProperties: &no}
}

// Array is a schema of an array of min..max items (max < 0: unbounded).
func Array(items *Schema, min, max int) *Schema {
	s := &Schema{Type: "array", Items: items, MinItems: &min}
	if max >= 0 {
		s.MaxItems = &max
	}
	return s
}

// Number is a schema of a number within [lo, hi]; NaN leaves a side open.
func Number(lo, hi float64) *Schema { return bounded("number", lo, hi) }

// Integer is a schema of an integer within [lo, hi].
func Integer(lo, hi float64) *Schema { return bounded("integer", lo, hi) }

func bounded(typ string, lo, hi float64) *Schema {
	s := &Schema{Type: typ}
	if !math.IsNaN(lo) {
		s.Minimum = &lo
	}
	if !math.IsNaN(hi) {
		s.Maximum = &hi
	}
	return s
}

// String is a schema of a string of min..max characters.
func String(min, max int) *Schema { return &Schema{Type: "string", MinLength: &min, MaxLength: &max} }

// Shape is the schema without its bounds (lengths, item counts, ranges):
// the subset every server's strict mode accepts (OpenAI's strict mode has
// refused numeric and length constraints). Validate still checks the bounds.
func (s *Schema) Shape() *Schema {
	if s == nil {
		return nil
	}
	out := &Schema{Type: s.Type, Required: s.Required, AdditionalProperties: s.AdditionalProperties, Items: s.Items.Shape()}
	if s.Properties != nil {
		out.Properties = map[string]*Schema{}
		for k, p := range s.Properties {
			out.Properties[k] = p.Shape()
		}
	}
	return out
}

// Validate checks the JSON document data against the schema and names the
// first place that breaks it, as a JSON path ($.steps[3].state).
func (s *Schema) Validate(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if d.More() {
		return fmt.Errorf("not one JSON value: text after it")
	}
	return s.check("$", v)
}

func (s *Schema) check(path string, v any) error {
	switch s.Type {
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s, want an object", path, kind(v))
		}
		for _, k := range s.Required {
			if _, ok := o[k]; !ok {
				return fmt.Errorf("%s: no %q", path, k)
			}
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					return fmt.Errorf("%s: unexpected property %q (want only %s)", path, k, strings.Join(s.Required, ", "))
				}
				continue
			}
			if err := p.check(path+"."+k, o[k]); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %s, want an array", path, kind(v))
		}
		if s.MinItems != nil && len(a) < *s.MinItems || s.MaxItems != nil && len(a) > *s.MaxItems {
			return fmt.Errorf("%s: %d items, want %s", path, len(a), span(s.MinItems, s.MaxItems))
		}
		if s.Items != nil {
			for i, x := range a {
				if err := s.Items.check(path+"["+strconv.Itoa(i)+"]", x); err != nil {
					return err
				}
			}
		}
	case "number", "integer":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %s, want a%s %s", path, kind(v), map[bool]string{true: "n"}[s.Type == "integer"], s.Type)
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %s is out of range", path, n)
		}
		if s.Type == "integer" && f != math.Trunc(f) {
			return fmt.Errorf("%s: %s, want an integer", path, n)
		}
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			return fmt.Errorf("%s: %s, want %s", path, n, rangeText(s.Minimum, s.Maximum))
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %s, want a string", path, kind(v))
		}
		n := len([]rune(str))
		if s.MinLength != nil && n < *s.MinLength || s.MaxLength != nil && n > *s.MaxLength {
			return fmt.Errorf("%s: a string of %d characters, want %s", path, n, span(s.MinLength, s.MaxLength))
		}
	default:
		return fmt.Errorf("%s: the schema has type %q, which this validator does not know", path, s.Type)
	}
	return nil
}

func kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + x.String()
	case string:
		if len(x) > 20 {
			x = x[:20] + "…"
		}
		return "the string " + strconv.Quote(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func span(lo, hi *int) string {
	switch {
	case lo != nil && hi != nil && *lo == *hi:
		return strconv.Itoa(*lo)
	case lo != nil && hi != nil:
		return fmt.Sprintf("%d..%d", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf("at least %d", *lo)
	case hi != nil:
		return fmt.Sprintf("at most %d", *hi)
	}
	return "any number"
}

func rangeText(lo, hi *float64) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch {
	case lo != nil && hi != nil:
		return "within [" + f(*lo) + ", " + f(*hi) + "]"
	case lo != nil:
		return "at least " + f(*lo)
	case hi != nil:
		return "at most " + f(*hi)
	}
	return "a number"
}
