package wordnet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	dbOnce sync.Once
	dbErr  error
	shared *DB
)

// openDB opens the installed database once for all tests, or skips.
func openDB(t testing.TB) *DB {
	t.Helper()
	dbOnce.Do(func() { shared, dbErr = Open(Dir()) })
	if errors.Is(dbErr, ErrMissing) {
		t.Skipf("WordNet is not installed (%v); apt-get install wordnet-base", dbErr)
	}
	if dbErr != nil {
		t.Fatal(dbErr)
	}
	return shared
}

func TestOpenMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), dir+" has no index.noun") || !strings.Contains(err.Error(), "apt-get install wordnet-base") {
		t.Errorf("Open(%s): %v, want ErrMissing naming the directory and the package", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.noun"), []byte("ball n 1 0 1 0 00000000  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), dir+" has index.noun but not its data file") {
		t.Errorf("Open(%s) with index.noun alone: %v, want an error naming the missing data file", dir, err)
	}
}

// A hand-written database of one synset per part of speech, in wndb(5)'s format.
func writeMini(t *testing.T, dataNoun string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.noun": "  1 licence header line\nball n 1 1 @ 1 0 00000000  \n",
		"data.noun":  dataNoun,
		"index.verb": "roll v 1 0 1 0 00000000  \n",
		"data.verb":  "00000000 38 v 01 roll 0 000 01 + 01 00 | move by rotating\n",
		"index.adj":  "red a 1 0 1 0 00000000  \n",
		"data.adj":   "00000000 00 a 01 red(p) 0 000 | the colour\n",
		"index.adv":  "north r 1 0 1 0 00000000  \n",
		"data.adv":   "00000000 02 r 01 north 0 000 | in a northern direction\n",
		"noun.exc":   "balls ball\n", "verb.exc": "rolt roll\n", "adj.exc": "", "adv.exc": "",
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMini(t *testing.T) {
	good := "00000000 06 n 02 ball 0 orb 0 001 @ 00000000 n 0000 | a round object\n"
	db, err := Open(writeMini(t, good))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := db.Synsets("Balls", Noun)
	if err != nil || len(ss) != 1 {
		t.Fatalf("Synsets(Balls): %v, %v", ss, err)
	}
	want := Synset{ID: SynsetID{Noun, 0}, Words: []string{"ball", "orb"}, Gloss: "a round object",
		Pointers: []Pointer{{Rel: Hypernym, Target: SynsetID{Noun, 0}}}}
	if s := ss[0]; s.ID != want.ID || !slices.Equal(s.Words, want.Words) || !slices.Equal(s.Pointers, want.Pointers) || s.Gloss != want.Gloss {
		t.Errorf("Synsets(Balls) = %+v, want %+v", s, want)
	}
	if s, _ := db.Synsets("red", Adj); len(s) != 1 || !slices.Equal(s[0].Words, []string{"red"}) {
		t.Errorf("Synsets(red, adj) = %+v, want the marker (p) dropped", s)
	}
	if b := db.BaseForms("rolt", Verb); !slices.Equal(b, []string{"roll"}) {
		t.Errorf("BaseForms(rolt) = %q, want [roll] from verb.exc", b)
	}

	for _, c := range []struct{ name, data, want string }{
		{"offset", "00000001 06 n 01 ball 0 000 | x\n", "line \"00000001 06 n 01 ball 0 000 | x\"…, expected a synset line starting with offset 00000000"},
		{"ss_type", "00000000 06 v 01 ball 0 000 | x\n", `ss_type "v", expected one of noun's`},
		{"w_cnt", "00000000 06 n 05 ball 0 000 | x\n", `w_cnt "05", expected a hex word count`},
		{"p_cnt", "00000000 06 n 01 ball 0 002 @ 00000000 n 0000 | x\n", `p_cnt "002", expected a pointer count`},
		{"pointer", "00000000 06 n 01 ball 0 001 @ 00000000 q 0000 | x\n", `pointer 0 "@ 00000000 q 0000", expected symbol, offset, pos and 4 hex digits`},
	} {
		db, err := Open(writeMini(t, c.data))
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Synsets("ball", Noun)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "data.noun at byte 0") {
			t.Errorf("%s: %v, want an error naming data.noun, the offset and %q", c.name, err, c.want)
		}
	}
}

func TestBaseForms(t *testing.T) {
	db := openDB(t)
	for _, c := range []struct {
		word string
		pos  POS
		want []string
	}{
		{"relocated", Verb, []string{"relocate"}},
		{"brought", Verb, []string{"bring"}},                // verb.exc
		{"sat", Verb, []string{"sit"}},                      // verb.exc
		{"pushes", Verb, []string{"push"}},                  // es → ""
		{"rolling", Verb, []string{"roll"}},                 // ing → ""
		{"balls", Noun, []string{"ball"}},                   // s → ""
		{"boxes", Noun, []string{"box"}},                    // xes → x
		{"men", Noun, []string{"men", "man"}},               // listed itself (a work force), then noun.exc
		{"glass", Noun, []string{"glass"}},                  // not "glas"
		{"better", Adj, []string{"better", "good", "well"}}, // listed itself, then adj.exc
		{"redder", Adj, []string{"red"}},                    // adj.exc
		{"Deep Red", Noun, []string{"deep_red"}},
		{"xyzzy", Noun, nil},
		{"", Noun, nil},
	} {
		if got := db.BaseForms(c.word, c.pos); !slices.Equal(got, c.want) {
			t.Errorf("BaseForms(%q, %v) = %q, want %q", c.word, c.pos, got, c.want)
		}
	}
}

func TestLookups(t *testing.T) {
	db := openDB(t)
	type lookup func(string, POS) ([]string, error)
	rel := func(r Relation) lookup { return func(w string, p POS) ([]string, error) { return db.Related(w, p, r) } }
	for _, c := range []struct {
		name    string
		f       lookup
		word    string
		pos     POS
		want    []string // all in the result
		wantNot []string
	}{
		{"synonyms", db.Synonyms, "crimson", Adj, []string{"red", "scarlet", "ruby"}, []string{"crimson"}},
		{"synonyms", db.Synonyms, "sapphire", Noun, []string{"azure"}, nil},
		{"synonyms", db.Synonyms, "teal", Adj, []string{"cyan"}, nil},
		{"synonyms", db.Synonyms, "globe", Noun, []string{"ball", "orb"}, nil},
		{"hypernyms", rel(Hypernym), "jade", Noun, []string{"green"}, nil},
		{"hypernyms", rel(Hypernym), "marbles", Noun, []string{"ball"}, nil},
		{"hypernyms", rel(Hypernym), "relocated", Verb, []string{"move"}, nil},
		{"similar to", rel(SimilarTo), "starboard", Adj, []string{"right"}, nil},
		{"similar to", rel(SimilarTo), "port", Adj, []string{"left"}, nil},
		// Derivations are lexical: from crimson's own adjective sense, not from ruby's.
		{"derivations", rel(Derivation), "relocate", Verb, []string{"relocation"}, nil},
		{"derivations", rel(Derivation), "crimson", Adj, []string{"crimson"}, []string{"ruby", "redness"}},
	} {
		got, err := c.f(c.word, c.pos)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s of %q (%v) = %q, want %q among them", c.name, c.word, c.pos, got, w)
			}
		}
		for _, w := range c.wantNot {
			if slices.Contains(got, w) {
				t.Errorf("%s of %q (%v) = %q, want no %q", c.name, c.word, c.pos, got, w)
			}
		}
	}
}

// Every lemma of every index is found by the binary search and its line parses, and every synset of every data file
// parses, with pointers to synsets that exist.
func TestWholeDatabase(t *testing.T) {
	db := openDB(t)
	n := 0
	for _, pos := range POSes {
		p := db.parts[pos]
		for _, off := range p.lines {
			line := p.index[off:]
			line = line[:bytes.IndexByte(line, '\n')]
			l := string(line[:bytes.IndexByte(line, ' ')])
			if got := p.indexLine(l); got != string(line) {
				t.Fatalf("index.%v: indexLine(%q) = %q, want %q", pos, l, got, line)
			}
			e, ok, err := db.Index(l, pos)
			if err != nil || !ok || len(e.Synsets) == 0 || e.TagSenseCount > len(e.Synsets) {
				t.Fatalf("index.%v: Index(%q) = %+v, %v, %v", pos, l, e, ok, err)
			}
		}
		for off := 0; off < len(p.data); {
			end := off + bytes.IndexByte(p.data[off:], '\n')
			if p.data[off] != ' ' {
				s, err := db.Synset(SynsetID{pos, int64(off)})
				if err != nil {
					t.Fatal(err)
				}
				if len(s.Words) == 0 {
					t.Fatalf("%v: no words", s.ID)
				}
				for _, q := range s.Pointers {
					if d := db.parts[q.Target.POS].data; q.Target.Offset >= int64(len(d)) || q.Target.Offset > 0 && d[q.Target.Offset-1] != '\n' {
						t.Fatalf("%v: pointer %+v to no line start", s.ID, q)
					}
				}
				n++
			}
			off = end + 1
		}
	}
	if n != 117659 {
		t.Errorf("%d synsets, want WordNet 3.0's 117659", n)
	}
}

// BenchmarkOpen reports Open's time and the heap the open DB holds.
func BenchmarkOpen(b *testing.B) {
	openDB(b)
	var heap float64
	for b.Loop() {
		b.StopTimer()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		db, err := Open(Dir())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = float64(m1.HeapAlloc-m0.HeapAlloc) / 1e6
		runtime.KeepAlive(db)
		b.StartTimer()
	}
	b.ReportMetric(heap, "MB-heap")
}
