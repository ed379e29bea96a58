package wordnet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Follow lists the relations a Mapper walks, beside synonymy (sharing a synset).
var Follow = []Relation{SimilarTo, Derivation, Hypernym, InstanceHypernym}

// DefaultDepth is the number of relation steps NewMapper's callers should start from. One
// step reaches "jade" → green (the hypernym of jade green), "bead" → sphere and
// "relocated" → moved; on CLEVR's rephrase texts a second step maps no further content word
// right and adds wrong ones through a derivation and a hypernym ("guide" → front, via head);
// see TestRephraseCoverage.
const DefaultDepth = 1

var relationNames = map[Relation]string{
	Antonym: "antonym", Hypernym: "hypernym", InstanceHypernym: "instance hypernym", Hyponym: "hyponym",
	SimilarTo: "similar to", Derivation: "derivation", AlsoSee: "also see", VerbGroup: "verb group",
	Pertainym: "pertainym", Entailment: "entailment",
}

func (r Relation) String() string {
	if s, ok := relationNames[r]; ok {
		return s
	}
	return string(r)
}

// A Mapping is one word a Mapper replaced.
type Mapping struct {
	From, To string
	// Path is the synsets walked, the first one a synset of From and the last one holding To;
	// Rels[i] leads from Path[i] to Path[i+1] (no Rels for a synonym).
	Path []SynsetID
	Rels []Relation
}

func (m Mapping) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s (", m.From, m.To)
	if len(m.Rels) == 0 {
		b.WriteString("synonym")
	}
	for i, r := range m.Rels {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
	b.WriteString(")")
	return b.String()
}

// A Mapper rewrites text into a vocabulary of known words, word by word: a known word stays;
// an unknown word becomes the nearest known word WordNet relates to it, or stays when none is
// within reach. It is safe for concurrent use.
//
// Nearest: a breadth-first walk from the synsets of the word's base forms (every part of
// speech), over synonymy and the relations in Follow, at most depth steps. The first step
// count that reaches a known word decides; among its words the walk prefers, in order, a word
// of the part of speech it started from (a derivation crosses parts of speech), fewer hypernym
// steps (a synonym or a similar adjective over a broader term), the word's own base form, a
// start synset earlier in WordNet's sense order (sense 1 of every part of speech, then sense 2,
// ..., parts of speech by how often WordNet's concordance tagged the word in each), the word's
// place in its synset (WordNet lists the usual word first), and last the alphabet. An inflected
// word keeps its inflection when the vocabulary holds the target's same form ("relocated" →
// "moved" when "moved" is known).
//
// The walk knows no context: a word whose rare sense reaches a known word maps through it
// ("far" → right through the far side of a horse, which is its right side). Callers that
// know such words map word by word with Word and leave them out.
type Mapper struct {
	db      *DB
	depth   int
	known   map[string]bool
	inflect map[POS]map[string][]string // base form → known words inflected from it

	mu    sync.Mutex
	cache map[string]result
}

type result struct {
	m  Mapping
	ok bool
}

// NewMapper returns a Mapper into the vocabulary words (lower case, one word each) that walks
// at most depth relation steps.
func NewMapper(db *DB, words []string, depth int) *Mapper {
	m := &Mapper{db: db, depth: depth, known: map[string]bool{}, inflect: map[POS]map[string][]string{}, cache: map[string]result{}}
	for _, w := range words {
		m.known[w] = true
	}
	for _, pos := range POSes {
		m.inflect[pos] = map[string][]string{}
		for _, w := range words {
			for _, b := range db.BaseForms(w, pos) {
				if b != w {
					m.inflect[pos][b] = append(m.inflect[pos][b], w)
				}
			}
		}
	}
	return m
}

// Known reports whether w is in the vocabulary.
func (m *Mapper) Known(w string) bool { return m.known[w] }

// Map rewrites text (split at white space, lower-cased) word by word and returns it with single
// spaces, with the mappings made in the order of the words.
func (m *Mapper) Map(text string) (string, []Mapping, error) {
	ws := strings.Fields(strings.ToLower(text))
	var ms []Mapping
	for i, w := range ws {
		if m.known[w] {
			continue
		}
		mp, ok, err := m.Word(w)
		if err != nil {
			return "", nil, fmt.Errorf("wordnet: map %q: %w", text, err)
		}
		if ok {
			ws[i] = mp.To
			ms = append(ms, mp)
		}
	}
	return strings.Join(ws, " "), ms, nil
}

// Word maps one lower-case word: ok is false when w is known or no known word is within reach.
func (m *Mapper) Word(w string) (Mapping, bool, error) {
	if m.known[w] {
		return Mapping{}, false, nil
	}
	m.mu.Lock()
	r, hit := m.cache[w]
	m.mu.Unlock()
	if hit {
		return r.m, r.ok, nil
	}
	mp, ok, err := m.walk(w)
	if err != nil {
		return Mapping{}, false, err
	}
	m.mu.Lock()
	m.cache[w] = result{mp, ok}
	m.mu.Unlock()
	return mp, ok, nil
}

// node is a synset reached by the walk.
type node struct {
	s         Synset
	hypernyms int // hypernym steps on the way
	rank      int // the start synset's place in sense order
	parent    *node
	rel       Relation
	startPOS  POS
	ownBases  map[string]bool // the word's base forms in startPOS
}

type candidate struct {
	n     *node
	word  string // the known word or the WordNet lemma it inflects
	index int    // place in the synset
	own   bool   // one of the word's own base forms
}

func (m *Mapper) walk(w string) (Mapping, bool, error) {
	// Start synsets, in sense order across parts of speech.
	type posSenses struct {
		pos    POS
		tagged int
		ids    []SynsetID
		bases  map[string]bool
	}
	var parts []posSenses
	for _, pos := range POSes {
		ps := posSenses{pos: pos, bases: map[string]bool{}}
		for _, b := range m.db.BaseForms(w, pos) {
			e, _, err := m.db.Index(b, pos)
			if err != nil {
				return Mapping{}, false, err
			}
			ps.bases[b] = true
			ps.tagged += e.TagSenseCount
			for _, id := range e.Synsets {
				if !slices.Contains(ps.ids, id) {
					ps.ids = append(ps.ids, id)
				}
			}
		}
		if len(ps.ids) > 0 {
			parts = append(parts, ps)
		}
	}
	slices.SortStableFunc(parts, func(a, b posSenses) int { return cmp.Compare(b.tagged, a.tagged) })
	seen := map[SynsetID]bool{}
	var frontier []*node
	for sense := 0; ; sense++ {
		more := false
		for _, ps := range parts {
			if sense >= len(ps.ids) {
				continue
			}
			more = true
			id := ps.ids[sense]
			if seen[id] {
				continue
			}
			s, err := m.db.Synset(id)
			if err != nil {
				return Mapping{}, false, err
			}
			seen[id] = true
			frontier = append(frontier, &node{s: s, rank: len(frontier), startPOS: ps.pos, ownBases: ps.bases})
		}
		if !more {
			break
		}
	}
	for depth := 0; len(frontier) > 0; depth++ {
		var cands []candidate
		for _, n := range frontier {
			for i, x := range n.s.Words {
				x = strings.ToLower(x)
				if m.known[x] || len(m.inflect[n.s.ID.POS][x]) > 0 {
					cands = append(cands, candidate{n: n, word: x, index: i, own: depth == 0 && n.ownBases[x]})
				}
			}
		}
		if len(cands) > 0 {
			best := slices.MinFunc(cands, func(a, b candidate) int {
				return cmp.Or(-boolCmp(a.n.startPOS == a.n.s.ID.POS, b.n.startPOS == b.n.s.ID.POS),
					cmp.Compare(a.n.hypernyms, b.n.hypernyms), -boolCmp(a.own, b.own), cmp.Compare(a.n.rank, b.n.rank),
					cmp.Compare(a.index, b.index), cmp.Compare(a.word, b.word))
			})
			return m.mapping(w, best), true, nil
		}
		if depth == m.depth {
			break
		}
		var next []*node
		for _, n := range frontier {
			for _, p := range n.s.Pointers {
				if !slices.Contains(Follow, p.Rel) || seen[p.Target] {
					continue
				}
				s, err := m.db.Synset(p.Target)
				if err != nil {
					return Mapping{}, false, err
				}
				seen[p.Target] = true
				h := n.hypernyms
				if p.Rel == Hypernym || p.Rel == InstanceHypernym {
					h++
				}
				next = append(next, &node{s: s, hypernyms: h, rank: n.rank, parent: n, rel: p.Rel, startPOS: n.startPOS, ownBases: n.ownBases})
			}
		}
		frontier = next
	}
	return Mapping{}, false, nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// mapping builds the result for the chosen candidate, choosing the inflected form to write.
func (m *Mapper) mapping(w string, c candidate) Mapping {
	to := c.word
	forms := m.inflect[c.n.s.ID.POS][c.word]
	inflected := c.n.startPOS == c.n.s.ID.POS && !c.n.ownBases[w]
	if len(forms) > 0 && (inflected || !m.known[to]) {
		// The form sharing the longest ending with w; the base form on a tie, when known.
		if m.known[to] {
			forms = append([]string{to}, forms...)
		}
		to = slices.MinFunc(forms, func(a, b string) int {
			return cmp.Or(-cmp.Compare(commonSuffix(a, w), commonSuffix(b, w)), -boolCmp(a == c.word, b == c.word), cmp.Compare(a, b))
		})
	}
	mp := Mapping{From: w, To: to}
	for n := c.n; n != nil; n = n.parent {
		mp.Path = append(mp.Path, n.s.ID)
		if n.parent != nil {
			mp.Rels = append(mp.Rels, n.rel)
		}
	}
	slices.Reverse(mp.Path)
	slices.Reverse(mp.Rels)
	return mp
}

func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}
