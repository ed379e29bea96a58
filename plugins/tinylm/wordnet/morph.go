package wordnet

import "strings"

// suffixRules are morphy's detachment rules (WordNet's morph.c): an inflected ending and what
// replaces it.
var suffixRules = map[POS][][2]string{
	Noun: {{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}},
	Verb: {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}},
	Adj:  {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
}

// BaseForms returns the forms of word that WordNet lists in pos, as WordNet's morphy finds
// them: the word itself when listed, the bases its exception list (pos.exc) gives, then what
// the suffix rules make of it that the index lists ("relocated" → "relocate", "brought" →
// "bring", "balls" → "ball"). Nouns ending in "ss" keep their ending ("glass"). Each form
// comes once; none when WordNet does not know the word.
func (db *DB) BaseForms(word string, pos POS) []string {
	p := db.parts[pos]
	l := lemma(word)
	if p == nil || l == "" {
		return nil
	}
	var out []string
	add := func(b string) {
		for _, o := range out {
			if o == b {
				return
			}
		}
		if p.indexLine(b) != "" {
			out = append(out, b)
		}
	}
	add(l)
	for _, b := range p.exc[l] {
		add(b)
	}
	if pos == Noun && strings.HasSuffix(l, "ss") {
		return out
	}
	for _, r := range suffixRules[pos] {
		if b, ok := strings.CutSuffix(l, r[0]); ok && b != "" {
			add(b + r[1])
		}
	}
	return out
}
