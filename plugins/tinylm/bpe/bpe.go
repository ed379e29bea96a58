package bpe

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// The special ids. Learned pieces follow them.
const (
	PAD int32 = iota
	BOS
	EOS
	numSpecial
)

// EndOfWord marks a piece that ends a word in Piece and in Merges.
const EndOfWord = "</w>"

// FormatVersion is the version of the JSON form that MarshalJSON writes and UnmarshalJSON accepts.
const FormatVersion = 1

const formatName = "kalm-bpe"

var specialNames = [numSpecial]string{"<pad>", "<bos>", "<eos>"}

// A Merge is one learned rule: the adjacent pieces Left and Right become the piece Left+Right.
type Merge struct{ Left, Right string }

// A Tokenizer encodes normalised text as piece ids and back. Build one with Train or
// UnmarshalJSON.
type Tokenizer struct {
	alphabet []rune           // every character seen in training, in code-point order
	merges   []Merge          // in the order learned; a merge's rank is its index
	words    []string         // the distinct training words, sorted
	pieces   []string         // id → piece (specials by name)
	ids      map[string]int32 // piece → id
	rank     map[Merge]int
	known    map[rune]bool
	cache    map[string][]int32 // the training words' encodings, filled once at build time
}

// Normalize lower-cases s, turns every character that is neither a letter nor a digit into a
// word break and collapses the breaks into single spaces, trimmed at both ends.
func Normalize(s string) string {
	return strings.Join(fields(s), " ")
}

func fields(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// DefaultAlphabet is the base alphabet Train adds to the training texts' characters: a goal text
// of another wording ("jade" when training never wrote a j) must still encode.
const DefaultAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// Train learns a tokenizer of at most vocabSize ids (specials included) from texts, over the
// characters of DefaultAlphabet and of the texts. See TrainAlphabet.
func Train(texts []string, vocabSize int) (*Tokenizer, error) {
	return TrainAlphabet(texts, vocabSize, DefaultAlphabet)
}

// TrainAlphabet learns a tokenizer of at most vocabSize ids (specials included) from texts. Its
// base alphabet is the characters of alphabet (lower case; "" for none) and of the normalised
// words of texts; Encode rejects any other. It starts from the characters of the words and merges, until the vocabulary is full, the
// most frequent adjacent pair of pieces (ties: the pair whose left then right piece sorts
// first), counting each word as often as it occurs. It stops early when no pair occurs twice,
// so Size may be below vocabSize. The result depends only on texts' words and vocabSize.
func TrainAlphabet(texts []string, vocabSize int, alphabet string) (*Tokenizer, error) {
	freq := map[string]int{}
	chars := map[rune]bool{}
	for _, r := range Normalize(alphabet) {
		if r != ' ' {
			chars[r] = true
		}
	}
	for _, text := range texts {
		for _, w := range fields(text) {
			freq[w]++
			for _, r := range w {
				chars[r] = true
			}
		}
	}
	if len(freq) == 0 {
		return nil, fmt.Errorf("bpe: train: %d texts hold no words (letters or digits after normalisation)", len(texts))
	}
	letters := make([]rune, 0, len(chars))
	for r := range chars {
		letters = append(letters, r)
	}
	slices.Sort(letters)
	if base := int(numSpecial) + 2*len(letters); vocabSize < base {
		return nil, fmt.Errorf("bpe: train: vocabSize %d is below %d, the %d specials plus the inner and final forms of the %d characters of the alphabet and the texts",
			vocabSize, base, numSpecial, len(letters))
	}
	words := make([]string, 0, len(freq))
	for w := range freq {
		words = append(words, w)
	}
	slices.Sort(words)

	t := &Tokenizer{alphabet: letters, words: words}
	t.initBase()
	segs := make([][]string, len(words))
	for i, w := range words {
		segs[i] = split(w)
	}
	for len(t.pieces) < vocabSize {
		counts := map[Merge]int{}
		for i, s := range segs {
			for j := 0; j+1 < len(s); j++ {
				counts[Merge{s[j], s[j+1]}] += freq[words[i]]
			}
		}
		best, bestN := Merge{}, 1
		for m, n := range counts {
			if n > bestN || n == bestN && bestN > 1 && less(m, best) {
				best, bestN = m, n
			}
		}
		if bestN < 2 {
			break
		}
		t.addMerge(best)
		for i, s := range segs {
			segs[i] = apply(s, best)
		}
	}
	t.fillCache()
	return t, nil
}

func less(a, b Merge) bool {
	if a.Left != b.Left {
		return a.Left < b.Left
	}
	return a.Right < b.Right
}

// initBase sets the specials and the base alphabet.
func (t *Tokenizer) initBase() {
	t.pieces = append([]string(nil), specialNames[:]...)
	t.ids = map[string]int32{}
	t.rank = map[Merge]int{}
	t.known = map[rune]bool{}
	for _, r := range t.alphabet {
		t.known[r] = true
		t.addPiece(string(r))
		t.addPiece(string(r) + EndOfWord)
	}
}

func (t *Tokenizer) addPiece(p string) {
	if _, ok := t.ids[p]; !ok {
		t.ids[p] = int32(len(t.pieces))
		t.pieces = append(t.pieces, p)
	}
}

// addMerge records m; two merges may make the same piece ("a"+"bc", "ab"+"c"), which then has one id.
func (t *Tokenizer) addMerge(m Merge) {
	t.rank[m] = len(t.merges)
	t.merges = append(t.merges, m)
	t.addPiece(m.Left + m.Right)
}

func (t *Tokenizer) fillCache() {
	t.cache = make(map[string][]int32, len(t.words))
	for _, w := range t.words {
		t.cache[w] = t.encodeWord(w)
	}
}

// split is a word's base segmentation: its characters, the last one in final form.
func split(w string) []string {
	var s []string
	for _, r := range w {
		s = append(s, string(r))
	}
	s[len(s)-1] += EndOfWord
	return s
}

// apply merges every occurrence of m in s, left to right.
func apply(s []string, m Merge) []string {
	out := s[:0:0]
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && s[i] == m.Left && s[i+1] == m.Right {
			out = append(out, m.Left+m.Right)
			i++
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// encodeWord applies the merges by rank to a word whose characters are all known.
func (t *Tokenizer) encodeWord(w string) []int32 {
	s := split(w)
	for len(s) > 1 {
		best, bestRank := Merge{}, -1
		for j := 0; j+1 < len(s); j++ {
			m := Merge{s[j], s[j+1]}
			if r, ok := t.rank[m]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = m, r
			}
		}
		if bestRank < 0 {
			break
		}
		s = apply(s, best)
	}
	ids := make([]int32, len(s))
	for i, p := range s {
		ids[i] = t.ids[p]
	}
	return ids
}

// Encode normalises text and returns its piece ids, without BOS or EOS. It fails, naming the
// text, when nothing is left after normalisation or when a character never occurred in the
// training texts: there is no unknown token.
func (t *Tokenizer) Encode(text string) ([]int32, error) {
	ws := fields(text)
	if len(ws) == 0 {
		return nil, fmt.Errorf("bpe: encode %q: no words (letters or digits) after normalisation", text)
	}
	var ids []int32
	for _, w := range ws {
		if c, ok := t.cache[w]; ok {
			ids = append(ids, c...)
			continue
		}
		for _, r := range w {
			if !t.known[r] {
				return nil, fmt.Errorf("bpe: encode %q: character %q (%U) in word %q never occurred in the training texts", text, r, r, w)
			}
		}
		ids = append(ids, t.encodeWord(w)...)
	}
	return ids, nil
}

// Decode joins the pieces of ids into text, a space after each word-final piece. It skips the
// specials and writes U+FFFD for an id outside the vocabulary. A last word cut before its
// final piece is still written.
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id >= 0 && id < numSpecial:
			continue
		case id < 0 || int(id) >= len(t.pieces):
			b.WriteRune(unicode.ReplacementChar)
			continue
		}
		p := t.pieces[id]
		if w, ok := strings.CutSuffix(p, EndOfWord); ok {
			b.WriteString(w)
			b.WriteByte(' ')
		} else {
			b.WriteString(p)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// Size is the number of ids: the specials, the base alphabet and the learned pieces.
func (t *Tokenizer) Size() int { return len(t.pieces) }

// Piece is the text of id: a special's name ("<pad>", "<bos>", "<eos>"), or a piece whose
// word-final form ends in EndOfWord. It is "" outside the vocabulary.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Words returns the distinct words of the training texts, sorted: the vocabulary a language
// prior maps unseen words onto. The caller must not modify the slice.
func (t *Tokenizer) Words() []string { return t.words }

// Merges returns the learned merges in the order learned. The caller must not modify the slice.
func (t *Tokenizer) Merges() []Merge { return t.merges }

// saved is the JSON form.
type saved struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Alpha   string   `json:"alphabet"`
	Merges  []string `json:"merges"` // "left right", as merges.txt files write them
	Words   []string `json:"words"`
}

// MarshalJSON writes the tokenizer: format name and version, alphabet, merges and training words.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	s := saved{Format: formatName, Version: FormatVersion, Alpha: string(t.alphabet), Words: t.words, Merges: make([]string, len(t.merges))}
	for i, m := range t.merges {
		s.Merges[i] = m.Left + " " + m.Right
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads what MarshalJSON wrote, checking the format version and that every merge
// joins pieces that exist by then; the ids come out as they were.
func (t *Tokenizer) UnmarshalJSON(b []byte) error {
	var s saved
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bpe: tokenizer JSON: %w", err)
	}
	if s.Format != formatName || s.Version != FormatVersion {
		return fmt.Errorf("bpe: tokenizer JSON: format %q version %d, this build reads %q version %d", s.Format, s.Version, formatName, FormatVersion)
	}
	if s.Alpha == "" || len(s.Words) == 0 {
		return errors.New("bpe: tokenizer JSON: empty alphabet or words, expected a trained tokenizer's")
	}
	u := Tokenizer{alphabet: []rune(s.Alpha), words: s.Words}
	if !slices.IsSorted(u.alphabet) || len(slices.Compact(slices.Clone(u.alphabet))) != len(u.alphabet) {
		return fmt.Errorf("bpe: tokenizer JSON: alphabet %q, expected distinct characters in code-point order", s.Alpha)
	}
	u.initBase()
	for i, line := range s.Merges {
		l, r, ok := strings.Cut(line, " ")
		_, lok := u.ids[l]
		_, rok := u.ids[r]
		if !ok || !lok || !rok || strings.HasSuffix(l, EndOfWord) {
			return fmt.Errorf("bpe: tokenizer JSON: merges[%d] = %q, expected two pieces known by then separated by one space, the left one inner", i, line)
		}
		u.addMerge(Merge{l, r})
	}
	for i, w := range u.words {
		if w == "" || Normalize(w) != w || i > 0 && u.words[i-1] >= w {
			return fmt.Errorf("bpe: tokenizer JSON: words[%d] = %q, expected distinct normalised words in order", i, w)
		}
		for _, r := range w {
			if !u.known[r] {
				return fmt.Errorf("bpe: tokenizer JSON: words[%d] = %q holds %q, which is not in the alphabet", i, w, r)
			}
		}
	}
	u.fillCache()
	*t = u
	return nil
}
