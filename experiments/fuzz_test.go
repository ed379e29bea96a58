package experiments

import (
	"testing"
	"time"
)

// FuzzParse checks that no experiment file, however malformed, panics the
// loader: it either loads or returns an error.
func FuzzParse(f *testing.F) {
	for _, s := range Shipped() {
		b, _ := ShippedFile(s.Name)
		f.Add(b, "seeds=2")
	}
	f.Add([]byte("name: x\ngrid:\n  axes:\n    - key: train.steps\n      values: [1, 2]\n  include:\n    - {train.steps: 3}\n"), "grid.exclude=[{train.steps: 1}]")
	f.Add([]byte("- a\n- b\n"), "")
	f.Add([]byte("hello"), "x=")
	f.Add([]byte("train: {steps: .nan}\nhyper: {cql: {alpha: .inf}}\n"), "hyper.cql=[1]")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			e, err := Parse("fuzz.yaml", data, Options{Set: []string{set}})
			if err == nil {
				e.Cells()
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse hangs on %q with --set %q", data, set)
		}
	})
}
