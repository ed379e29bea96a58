package runner

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kalm-go/kalm/experiments"
)

// TestDisplayFinish checks how both displays report a stage's end: an
// interrupted stage is interrupted, not FAILED.
func TestDisplayFinish(t *testing.T) {
	st := &experiments.Stage{Kind: experiments.Train, Key: "0123456789abcdef", Plugins: []experiments.PluginRef{{Name: "bc"}}, Cells: []string{"algo=bc/seed=0"}}
	for _, tc := range []struct {
		name      string
		err       error
		want, not string
	}{
		{"done", nil, "done   train    bc (algo=bc/seed=0) 0123456789ab in 1.5s", "FAILED"},
		{"interrupted", fmt.Errorf("stage: %w", ErrInterrupted), "interrupted train    bc (algo=bc/seed=0) 0123456789ab after 1.5s", "FAILED"},
		{"failed", errors.New("diverged at step 12\nmore"), "FAILED train    bc (algo=bc/seed=0) 0123456789ab: diverged at step 12 ...", "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plain strings.Builder
			d := &plainDisplay{w: &plain, last: map[string]int{}, lastAt: map[string]time.Time{}}
			d.Finish(st, tc.err, 1500*time.Millisecond)
			var term strings.Builder
			td := newTermDisplay(&term, time.Hour)
			td.Start(st)
			td.Finish(st, tc.err, 1500*time.Millisecond)
			td.Close()
			for name, out := range map[string]string{"plain": plain.String(), "terminal": stripANSI(term.String())} {
				if !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
					t.Errorf("%s display wrote %q, want %q and no %q", name, out, tc.want, tc.not)
				}
			}
		})
	}
}

// stripANSI drops the terminal display's colour and cursor sequences.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\x1b' {
			for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= 'a' && s[i] <= 'z') {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
