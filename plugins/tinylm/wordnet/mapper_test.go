package wordnet

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// A small vocabulary, with inflected forms, to map into.
var smallVocab = []string{"red", "blue", "green", "ball", "move", "moved", "push", "pushed", "put", "sits", "want", "behind", "left", "right"}

func TestMapperWord(t *testing.T) {
	m := NewMapper(openDB(t), smallVocab, DefaultDepth)
	for _, c := range []struct {
		word, want string
		rels       []Relation // nil for a synonym
	}{
		{"crimson", "red", nil},                    // an adjective synset holding both
		{"scarlet", "red", nil},                    // red is listed before scarlet
		{"sapphire", "blue", []Relation{Hypernym}}, // the colour sense's hypernym
		{"jade", "green", []Relation{Hypernym}},
		{"marble", "ball", []Relation{Hypernym}},
		{"relocated", "moved", []Relation{Hypernym}}, // the verb's hypernym, inflected as the word was
		{"relocate", "move", []Relation{Hypernym}},
		{"shifted", "moved", []Relation{Hypernym}},
		{"sat", "sits", nil},     // sit is not in the vocabulary, sits is
		{"pushes", "push", nil},  // its own base form; pushed ends otherwise
		{"pushing", "push", nil}, // no known form ends in -ing
		{"moves", "move", nil},
		{"nudged", "pushed", []Relation{Hypernym}}, // nudge → push, in the same form
		{"wish", "want", nil},
		{"port", "left", []Relation{SimilarTo}},
		{"starboard", "right", []Relation{SimilarTo}},
	} {
		mp, ok, err := m.Word(c.word)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || mp.To != c.want || mp.From != c.word || !slices.Equal(mp.Rels, c.rels) || len(mp.Path) != len(c.rels)+1 {
			t.Errorf("Word(%q) = %v (ok %v), want %s via %v", c.word, mp, ok, c.want, c.rels)
		}
	}
	for _, w := range []string{"red", "xyzzy", "the", "north", "cobalt"} {
		if mp, ok, err := m.Word(w); ok || err != nil {
			t.Errorf("Word(%q) = %v, %v, %v; want no mapping (known, or nothing in reach)", w, mp, ok, err)
		}
	}
}

func TestMapperDepth(t *testing.T) {
	db := openDB(t)
	for _, c := range []struct {
		depth int
		word  string
		want  string // "" for no mapping
	}{
		{0, "crimson", "red"},
		{0, "jade", ""}, // green is a hypernym, one step away
		{1, "jade", "green"},
		{1, "rearrange", ""},
		{2, "rearrange", "put"}, // rearrange → arrange → put: two hypernym steps
	} {
		mp, ok, err := NewMapper(db, smallVocab, c.depth).Word(c.word)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (c.want != "") || mp.To != c.want {
			t.Errorf("depth %d: Word(%q) = %v (ok %v), want %q", c.depth, c.word, mp, ok, c.want)
		}
	}
}

func TestMapperMap(t *testing.T) {
	m := NewMapper(openDB(t), smallVocab, DefaultDepth)
	got, ms, err := m.Map("Relocate the  CRIMSON marble north of the jade ball")
	if err != nil {
		t.Fatal(err)
	}
	if want := "move the red ball north of the green ball"; got != want {
		t.Errorf("Map = %q, want %q", got, want)
	}
	var from []string
	for _, mp := range ms {
		from = append(from, mp.From)
	}
	if want := []string{"relocate", "crimson", "marble", "jade"}; !slices.Equal(from, want) {
		t.Errorf("mapped %q, want %q", from, want)
	}
	if s := ms[1].String(); s != "crimson → red (synonym)" {
		t.Errorf("String() = %q", s)
	}
	if s := ms[2].String(); s != "marble → ball (hypernym)" {
		t.Errorf("String() = %q", s)
	}
}

// The cache makes concurrent use safe and repeatable.
func TestMapperConcurrent(t *testing.T) {
	m := NewMapper(openDB(t), smallVocab, DefaultDepth)
	words := strings.Fields("crimson jade marble relocated shifted port starboard xyzzy")
	want := make([]string, len(words))
	for i, w := range words {
		mp, _, _ := m.Word(w)
		want[i] = mp.To
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			fresh := NewMapper(m.db, smallVocab, DefaultDepth)
			for i, w := range words {
				for _, mm := range []*Mapper{m, fresh} {
					if mp, _, _ := mm.Word(w); mp.To != want[i] {
						t.Errorf("Word(%q) = %q, want %q", w, mp.To, want[i])
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkMapperWord(b *testing.B) {
	db := openDB(b)
	words := strings.Fields("crimson jade marble relocated shifted port starboard xyzzy cobalt north things")
	for b.Loop() {
		m := NewMapper(db, smallVocab, DefaultDepth) // a fresh cache: every word walks
		for _, w := range words {
			if _, _, err := m.Word(w); err != nil {
				b.Fatal(err)
			}
		}
	}
}
