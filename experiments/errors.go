package experiments

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// FieldError is one invalid field of an experiment: where it came from
// (file and line, environment variable or --set flag), its path, the bad
// value, what is wrong and what is allowed.
type FieldError struct {
	Where   string // "quick.yaml:12", "KALM_TRAIN__STEPS", "--set train.steps=x"; empty if unknown
	Path    string // "train.steps", "grid.axes[1].key"
	Value   any    // the offending value, nil if none
	Msg     string // "is not a whole number", "unknown key; did you mean \"train\"?"
	Allowed string // "train, rephrase, unseen_easy" or "≥ 1"; empty if open
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where)
		b.WriteString(": ")
	}
	b.WriteString(e.Path)
	if e.Value != nil {
		fmt.Fprintf(&b, ": %s", show(e.Value))
	}
	b.WriteString(" ")
	b.WriteString(e.Msg)
	if e.Allowed != "" {
		fmt.Fprintf(&b, " (allowed: %s)", e.Allowed)
	}
	return b.String()
}

// show renders a value compactly for an error message.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err == nil {
			s := string(b)
			if len(s) > 60 {
				s = s[:57] + "..."
			}
			return s
		}
	}
	return fmt.Sprint(v)
}

// FieldErrors is every problem found in one experiment. It is returned as
// an error when non-empty.
type FieldErrors struct {
	Source string // the experiment file or shipped name
	List   []*FieldError
}

func (e *FieldErrors) add(where, path string, v any, msg, allowed string) {
	e.List = append(e.List, &FieldError{Where: where, Path: path, Value: v, Msg: msg, Allowed: allowed})
}

func (e *FieldErrors) Error() string {
	var b strings.Builder
	n := len(e.List)
	fmt.Fprintf(&b, "experiment %s: %d invalid field", e.Source, n)
	if n != 1 {
		b.WriteString("s")
	}
	for _, fe := range e.List {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap exposes the individual field errors to errors.As.
func (e *FieldErrors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, fe := range e.List {
		out[i] = fe
	}
	return out
}

func (e *FieldErrors) err() error {
	if len(e.List) == 0 {
		return nil
	}
	// File order first (by line), then the environment and flags.
	sort.SliceStable(e.List, func(i, j int) bool { return lineOf(e.List[i].Where) < lineOf(e.List[j].Where) })
	return e
}

// lineOf is the line number in "file:line", or a large number.
func lineOf(where string) int {
	if i := strings.LastIndexByte(where, ':'); i >= 0 {
		if n, err := strconv.Atoi(where[i+1:]); err == nil {
			return n
		}
	}
	return 1 << 30
}
