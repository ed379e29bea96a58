package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"train", "train", 0},
		{"trian", "train", 1}, // one swap
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment: no rune edited twice
		{"évaluer", "evaluer", 1},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"run", "validate", "plan", "report", "plot", "ls", "plugins", "version"}
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"rnu", cmds, "run"},
		{"valdiate", cmds, "validate"},
		{"REPORT", cmds, "report"},
		{"plto", cmds, "plot"}, // plot and plan: the nearer wins
		{"pla", cmds, "plan"},  // one edit from plan, two from plot
		{"xyzzy", cmds, ""},    // nothing near
		{"learning_rate", []string{"lr", "hidden"}, ""},
		{"hiden", []string{"lr", "hidden"}, "hidden"},
		{"seeds", nil, ""},
		{"algo", []string{"algos", "algo2"}, "algos"}, // a tie: the first
	} {
		if got := Closest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	if got, want := DidYouMean("trian", []string{"train", "rephrase"}), `; did you mean "train"?`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := DidYouMean("zzz", []string{"train"}); got != "" {
		t.Errorf("got %q, want nothing", got)
	}
}
