package bpe

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/plugins/clevr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goalTexts draws n phrasings of every task of a CLEVR level, from a fixed seed.
func goalTexts(level string, n int) []string {
	rng := rand.New(rand.NewPCG(14, 1))
	var texts []string
	for _, task := range clevr.AllTasks(level, clevr.MaxBalls) {
		texts = append(texts, clevr.Language{}.Texts(&task, n, rng)...)
	}
	return texts
}

// goldenVocab is the vocabulary size of the golden merges: below the 199 at which every
// training word is one piece, so the file shows subwords.
const goldenVocab = 160

func train(t testing.TB, vocab int) *Tokenizer {
	t.Helper()
	tk, err := Train(goalTexts(clevr.LevelTrain, 20), vocab)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Push the RED ball", "push the red ball"},
		{"  push\tthe\n red   ball  ", "push the red ball"},
		{"push the red ball, please!", "push the red ball please"},
		{"don't move", "don t move"},
		{"ball#2 -> left", "ball 2 left"},
		{"Ça va", "ça va"},
		{"?!", ""},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Every text of every level round-trips: the rephrase and unseen levels use words training never
// saw, in characters it did.
func TestRoundTrip(t *testing.T) {
	tk := train(t, goldenVocab)
	for _, level := range clevr.Levels {
		for _, text := range goalTexts(level, 5) {
			ids, err := tk.Encode(text)
			if err != nil {
				t.Fatalf("%s: %v", level, err)
			}
			if got := tk.Decode(ids); got != Normalize(text) {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", level, text, got)
			}
			for _, id := range ids {
				if id < numSpecial || int(id) >= tk.Size() {
					t.Fatalf("Encode(%q) holds id %d outside [%d, %d)", text, id, numSpecial, tk.Size())
				}
			}
		}
	}
}

// Learned merges shorten the corpus, and with room for every merge each training word is one piece.
func TestCompression(t *testing.T) {
	texts := goalTexts(clevr.LevelTrain, 20)
	chars := 0
	for _, s := range texts {
		chars += len(strings.ReplaceAll(Normalize(s), " ", ""))
	}
	for _, c := range []struct {
		vocab      int
		maxPerChar float64 // pieces per character
	}{{75, 1}, {goldenVocab, 0.45}, {1000, 0.27}} {
		tk := train(t, c.vocab)
		if tk.Size() > c.vocab {
			t.Errorf("vocab %d: Size %d", c.vocab, tk.Size())
		}
		n := 0
		for _, s := range texts {
			ids, _ := tk.Encode(s)
			n += len(ids)
		}
		if r := float64(n) / float64(chars); r > c.maxPerChar {
			t.Errorf("vocab %d: %d pieces for %d characters (%.3f per character), want ≤ %.2f", c.vocab, n, chars, r, c.maxPerChar)
		}
	}
	tk := train(t, 1000)
	for _, w := range tk.Words() {
		if ids, _ := tk.Encode(w); len(ids) != 1 {
			t.Errorf("vocab 1000 (Size %d): %q is %d pieces, want 1", tk.Size(), w, len(ids))
		}
	}
}

// The tokenizer depends on the corpus's words, not on the order of its texts.
func TestDeterministic(t *testing.T) {
	texts := goalTexts(clevr.LevelTrain, 20)
	a, err := Train(texts, goldenVocab)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(texts)
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i := 0; i < 3; i++ {
		b, err := Train(shuffled, goldenVocab)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("run %d: a second training on the same words gave another tokenizer", i)
		}
	}
}

func TestMergesGolden(t *testing.T) {
	tk := train(t, goldenVocab)
	var b strings.Builder
	fmt.Fprintf(&b, "# go test ./plugins/tinylm/bpe -run TestMergesGolden -update\n")
	fmt.Fprintf(&b, "# BPE merges learned from 20 phrasings of each CLEVR training task (seed 14,1), vocabSize %d, Size %d\n", goldenVocab, tk.Size())
	for i, m := range tk.Merges() {
		fmt.Fprintf(&b, "%3d %s %s\n", i, m.Left, m.Right)
	}
	path := filepath.Join("testdata", "clevr-merges.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("merges differ from %s (run with -update after checking the change):\n%s", path, b.String())
	}
}

func TestEncodeErrors(t *testing.T) {
	tk := train(t, goldenVocab)
	for _, c := range []struct{ text, want string }{
		{"", `encode "": no words`},
		{" \t ", `encode " \t ": no words`},
		{"?!", `encode "?!": no words`},
		{"push the red ball ñ", `character 'ñ' (U+00F1) in word "ñ" never occurred in the training texts`},
		{"push the red ball, señor", `encode "push the red ball, señor": character 'ñ' (U+00F1) in word "señor"`},
	} {
		_, err := tk.Encode(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Encode(%q): error %v, want one containing %q", c.text, err, c.want)
		}
	}
	// Without the default alphabet, the training texts' characters are all there is: they never
	// write a j, which the rephrase level's "jade" holds.
	own, err := TrainAlphabet(goalTexts(clevr.LevelTrain, 20), goldenVocab, "")
	if err != nil {
		t.Fatal(err)
	}
	const jade = "push the jade ball behind the red ball"
	if _, err := own.Encode(jade); err == nil || !strings.Contains(err.Error(), `character 'j' (U+006A) in word "jade" never occurred`) {
		t.Errorf("TrainAlphabet(…, \"\").Encode(%q): error %v, want one naming 'j' in \"jade\"", jade, err)
	}
	if _, err := tk.Encode(jade); err != nil {
		t.Errorf("Train(…).Encode(%q): %v, want no error: j is in DefaultAlphabet", jade, err)
	}
}

func TestDecode(t *testing.T) {
	tk := train(t, goldenVocab)
	ids, err := tk.Encode("push the red ball")
	if err != nil {
		t.Fatal(err)
	}
	withSpecials := append(append([]int32{BOS}, ids...), EOS, PAD, PAD)
	for _, c := range []struct {
		ids  []int32
		want string
	}{
		{withSpecials, "push the red ball"},
		{nil, ""},
		{[]int32{BOS, EOS}, ""},
		{append(slices.Clone(ids), int32(tk.Size()), -1), "push the red ball \uFFFD\uFFFD"},
	} {
		if got := tk.Decode(c.ids); got != c.want {
			t.Errorf("Decode(%v) = %q, want %q", c.ids, got, c.want)
		}
	}
	// A word cut before its final piece is written as far as it goes ("one" is not a training word).
	one, err := tk.Encode("push the red one")
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Decode(one[:len(one)-1]); got != "push the red on" {
		t.Errorf("Decode(%v) = %q, want %q", one[:len(one)-1], got, "push the red on")
	}
	for id, want := range []string{"<pad>", "<bos>", "<eos>"} {
		if got := tk.Piece(int32(id)); got != want {
			t.Errorf("Piece(%d) = %q, want %q", id, got, want)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	for _, c := range []struct {
		texts []string
		vocab int
		want  string
	}{
		{nil, 100, "0 texts hold no words"},
		{[]string{"", "!!"}, 100, "2 texts hold no words"},
		{[]string{"ab ñ"}, 76, "vocabSize 76 is below 77, the 3 specials plus the inner and final forms of the 37 characters"},
	} {
		_, err := Train(c.texts, c.vocab)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Train(%q, %d): error %v, want one containing %q", c.texts, c.vocab, err, c.want)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	tk := train(t, goldenVocab)
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	var back Tokenizer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Size() != tk.Size() || !slices.Equal(back.pieces, tk.pieces) || !slices.Equal(back.Words(), tk.Words()) {
		t.Fatalf("loaded tokenizer: Size %d, want %d; pieces or words differ", back.Size(), tk.Size())
	}
	for _, text := range goalTexts(clevr.LevelRephrase, 2) {
		x, _ := tk.Encode(text)
		y, err := back.Encode(text)
		if err != nil || !slices.Equal(x, y) {
			t.Fatalf("Encode(%q): %v (err %v) after loading, %v before", text, y, err, x)
		}
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(b, again) {
		t.Error("marshalling a loaded tokenizer gives other bytes")
	}

	edit := func(f func(*saved)) string {
		var s saved
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		f(&s)
		out, _ := json.Marshal(s)
		return string(out)
	}
	for _, c := range []struct {
		name, json, want string
	}{
		{"newer version", edit(func(s *saved) { s.Version = 2 }), `format "kalm-bpe" version 2, this build reads "kalm-bpe" version 1`},
		{"other format", edit(func(s *saved) { s.Format = "hf-tokenizer" }), `format "hf-tokenizer" version 1`},
		{"not JSON", "{", "unexpected end of JSON input"},
		{"no words", edit(func(s *saved) { s.Words = nil }), "empty alphabet or words"},
		{"unsorted alphabet", edit(func(s *saved) { s.Alpha = "ba" }), `alphabet "ba", expected distinct characters`},
		{"unknown piece", edit(func(s *saved) { s.Merges[0] = "ñ z" }), `merges[0] = "ñ z", expected two pieces known by then`},
		{"final left", edit(func(s *saved) { s.Merges[0] = "e</w> a" }), `merges[0] = "e</w> a"`},
		{"merge order", edit(func(s *saved) { s.Merges[0], s.Merges[len(s.Merges)-1] = s.Merges[len(s.Merges)-1], s.Merges[0] }), "expected two pieces known by then"},
		{"word out of alphabet", edit(func(s *saved) { s.Words = append(s.Words, "ñ") }), `words[64] = "ñ" holds 'ñ'`},
		{"unsorted words", edit(func(s *saved) { s.Words[0], s.Words[1] = s.Words[1], s.Words[0] }), "words[1] ="},
	} {
		var u Tokenizer
		err := json.Unmarshal([]byte(c.json), &u)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func BenchmarkTrain(b *testing.B) {
	texts := goalTexts(clevr.LevelTrain, 20)
	for b.Loop() {
		if _, err := Train(texts, goldenVocab); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode encodes rephrase texts, whose words are outside the training cache.
func BenchmarkEncode(b *testing.B) {
	tk := train(b, goldenVocab)
	texts := goalTexts(clevr.LevelRephrase, 5)
	words := 0
	for _, s := range texts {
		words += len(fields(s))
	}
	b.ResetTimer()
	for b.Loop() {
		for _, s := range texts {
			if _, err := tk.Encode(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(words)*float64(b.N)/b.Elapsed().Seconds(), "words/s")
}
