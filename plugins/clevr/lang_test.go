package clevr

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// contentWords lists every non-stop word a vocabulary can put into a sentence.
func contentWords(v *vocabulary) map[string]bool {
	words := map[string]bool{}
	add := func(s string) {
		for _, w := range strings.Fields(placeholder.ReplaceAllString(s, " ")) {
			if !stopWords[w] {
				words[w] = true
			}
		}
	}
	for _, cs := range v.colors {
		for _, c := range cs {
			add(c)
		}
	}
	for _, o := range v.objects {
		add(o)
	}
	for _, vb := range v.verbs {
		add(vb.base)
		add(vb.part)
	}
	for _, rs := range v.rel {
		for _, r := range rs {
			add(r)
		}
	}
	for _, p := range v.patterns {
		add(p)
	}
	return words
}

func TestRephraseDisjointFromTraining(t *testing.T) {
	train, reph := contentWords(&trainVocab), contentWords(&rephraseVocab)
	for w := range reph {
		if train[w] {
			t.Errorf("word %q appears in both training and rephrase wording", w)
		}
	}
	for _, p := range rephraseVocab.patterns {
		for _, q := range trainVocab.patterns {
			if p == q {
				t.Errorf("pattern %q is shared", p)
			}
		}
	}
	// Generated sentences too: no rephrase sentence shares a content word with any training one.
	rng := rand.New(rand.NewPCG(1, 2))
	var l Language
	trainSeen := map[string]bool{}
	for _, task := range AllTasks(LevelTrain, 5) {
		for _, s := range l.Texts(&task, 30, rng) {
			for _, w := range strings.Fields(s) {
				trainSeen[w] = true
			}
		}
	}
	for _, task := range AllTasks(LevelRephrase, 5) {
		for _, s := range l.Texts(&task, 30, rng) {
			for _, w := range strings.Fields(s) {
				if trainSeen[w] && !stopWords[w] {
					t.Errorf("rephrase sentence %q uses training word %q", s, w)
				}
			}
		}
	}
	t.Logf("%d training content words, %d rephrase content words, %d + %d patterns", len(train), len(reph), len(trainVocab.patterns), len(rephraseVocab.patterns))
}

func TestManyTextsPerGoal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var l Language
	for _, level := range []string{LevelTrain, LevelRephrase} {
		for _, task := range AllTasks(level, 5) {
			if got := l.Texts(&task, 100, rng); len(got) != 100 {
				t.Fatalf("%s %v: %d distinct texts, want 100", level, task, len(got))
			}
		}
	}
	for _, task := range AllTasks(LevelEasy, 5) {
		want := 54
		if task.Kind == KindStill {
			want = len(stillPatterns)
		}
		if got := l.Texts(&task, want, rng); len(got) != want {
			t.Errorf("easy %v: %d distinct texts, want %d", task, len(got), want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var l Language
	var tasks []Task
	for _, level := range Levels {
		tasks = append(tasks, AllTasks(level, 5)...)
	}
	for i := 0; i < 300; i++ {
		task, err := SampleTask(LevelHard, 5, rng)
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	n := 0
	for _, task := range tasks {
		for _, s := range l.Texts(&task, 25, rng) {
			n++
			got, err := Parse(s)
			if err != nil {
				t.Errorf("Parse(%q): %v", s, err)
				continue
			}
			if !got.Equal(task) || got.Level != task.Level {
				t.Errorf("Parse(%q) = %v at level %s, want %v at level %s", s, got, got.Level, task, task.Level)
			}
		}
	}
	t.Logf("parsed %d generated texts back to their goals", n)
}

// TestParseToyInstructions parses the KALM authors' 54 phrasings of each toy goal: their
// wording is not ours, so this checks that the parser generalises.
func TestParseToyInstructions(t *testing.T) {
	d, err := ReadToy(toyPath(t))
	if err != nil {
		t.Fatal(err)
	}
	ok, n := 0, 0
	for i := range d.Trajectories {
		want, _ := d.Trajectories[i].Task()
		for _, s := range d.Trajectories[i].Instructions {
			n++
			got, err := Parse(s)
			if err == nil && got.Equal(want) {
				ok++
			} else {
				t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
			}
		}
	}
	t.Logf("parsed %d/%d KALM toy instructions to their recorded goal", ok, n)
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "hello world", "push it over there", "red", "the red ball and the blue ball"} {
		if task, err := Parse(s); !errors.Is(err, ErrNoGoal) {
			t.Errorf("Parse(%q) = %v, %v; want ErrNoGoal", s, task, err)
		}
	}
}
