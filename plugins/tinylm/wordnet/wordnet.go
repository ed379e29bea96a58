package wordnet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A POS is a part of speech, written as WordNet's index files write it.
type POS byte

// The four parts of speech. Adjective satellites ("s" in the data files) are adjectives here,
// with Synset.Satellite set.
const (
	Noun POS = 'n'
	Verb POS = 'v'
	Adj  POS = 'a'
	Adv  POS = 'r'
)

// POSes lists the parts of speech in the order lookups try them.
var POSes = []POS{Noun, Verb, Adj, Adv}

var posFile = map[POS]string{Noun: "noun", Verb: "verb", Adj: "adj", Adv: "adv"}

func (p POS) String() string {
	if s, ok := posFile[p]; ok {
		return s
	}
	return fmt.Sprintf("POS(%q)", byte(p))
}

func parsePOS(s string) (POS, bool) {
	switch s {
	case "n", "v", "a", "r":
		return POS(s[0]), true
	case "s":
		return Adj, true
	}
	return 0, false
}

// A Relation is a pointer symbol of wndb(5).
type Relation string

// The relations the language prior follows, and a few more a caller may want.
const (
	Antonym          Relation = "!"
	Hypernym         Relation = "@"
	InstanceHypernym Relation = "@i"
	Hyponym          Relation = "~"
	SimilarTo        Relation = "&" // adjective satellite ↔ head adjective
	Derivation       Relation = "+" // derivationally related form, between words
	AlsoSee          Relation = "^"
	VerbGroup        Relation = "$"
	Pertainym        Relation = "\\"
	Entailment       Relation = "*"
)

// A SynsetID names a synset: its part of speech and its byte offset in that part's data file.
type SynsetID struct {
	POS    POS
	Offset int64
}

func (id SynsetID) String() string { return fmt.Sprintf("%s %08d", id.POS, id.Offset) }

// A Pointer is a relation from a synset, or from one of its words, to another.
type Pointer struct {
	Rel    Relation
	Target SynsetID
	// Source and Dest are 1-based word numbers in the two synsets for a lexical pointer
	// (derivations, antonyms), both 0 for a pointer between whole synsets.
	Source, Dest int
}

// A Synset is a set of synonyms with its relations.
type Synset struct {
	ID        SynsetID
	Satellite bool     // an adjective satellite ("s")
	Words     []string // as WordNet writes them: collocations joined by "_", case kept, markers like "(p)" dropped
	Pointers  []Pointer
	Gloss     string
}

// DB is WordNet's database read from its directory. Open reads the index, data and exception
// files whole (about 28 MB for WordNet 3.0) and parses a synset when it is asked for; a DB is
// immutable and safe for concurrent use.
type DB struct {
	dir   string
	parts map[POS]*part
}

type part struct {
	indexPath, dataPath string
	index               []byte
	lines               []int32 // start of every index line that is not the licence header
	data                []byte
	exc                 map[string][]string // inflected form → base forms
}

// DefaultDir is where Debian's wordnet-base package puts the database.
const DefaultDir = "/usr/share/wordnet"

// Dir is the database directory: $WNSEARCHDIR, as WordNet's own tools read it, else DefaultDir.
func Dir() string {
	if d := os.Getenv("WNSEARCHDIR"); d != "" {
		return d
	}
	return DefaultDir
}

// ErrMissing is returned (wrapped) by Open when the database files are not there.
var ErrMissing = errors.New("WordNet database not found")

// Open reads the WordNet 3.0 database in dir (index.*, data.* and *.exc of wndb(5)).
func Open(dir string) (*DB, error) {
	db := &DB{dir: dir, parts: map[POS]*part{}}
	for _, pos := range POSes {
		name := posFile[pos]
		p := &part{indexPath: filepath.Join(dir, "index."+name), dataPath: filepath.Join(dir, "data."+name)}
		var err error
		if p.index, err = os.ReadFile(p.indexPath); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("wordnet: directory %s has no index.%s: %w; install Debian's wordnet-base (apt-get install wordnet-base) or set WNSEARCHDIR to the directory holding index.noun and data.noun",
					dir, name, ErrMissing)
			}
			return nil, fmt.Errorf("wordnet: %w", err)
		}
		if p.data, err = os.ReadFile(p.dataPath); err != nil {
			return nil, fmt.Errorf("wordnet: %s has index.%s but not its data file: %w", dir, name, err)
		}
		for off := 0; off < len(p.index); {
			end := bytes.IndexByte(p.index[off:], '\n')
			if end < 0 {
				end = len(p.index) - off
			}
			if p.index[off] != ' ' && end > 0 {
				p.lines = append(p.lines, int32(off))
			}
			off += end + 1
		}
		if len(p.lines) == 0 {
			return nil, fmt.Errorf("wordnet: %s holds no lemma lines, expected wndb(5) index lines", p.indexPath)
		}
		if p.exc, err = readExceptions(filepath.Join(dir, name+".exc")); err != nil {
			return nil, err
		}
		db.parts[pos] = p
	}
	return db, nil
}

func readExceptions(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wordnet: exception list: %w", err)
	}
	exc := map[string][]string{}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("wordnet: %s:%d: %q, expected an inflected form and its base forms", path, i+1, line)
		}
		exc[f[0]] = append(exc[f[0]], f[1:]...)
	}
	return exc, nil
}

// lemma is WordNet's form of a word or collocation: lower case, "_" between words.
func lemma(w string) string {
	return strings.Join(strings.Fields(strings.ToLower(w)), "_")
}

// indexLine returns the index line of lemma l, or "".
func (p *part) indexLine(l string) string {
	key := []byte(l + " ")
	i := sort.Search(len(p.lines), func(i int) bool {
		line := p.index[p.lines[i]:]
		return bytes.Compare(line[:min(len(line), len(key))], key) >= 0
	})
	if i == len(p.lines) || !bytes.HasPrefix(p.index[p.lines[i]:], key) {
		return ""
	}
	line := p.index[p.lines[i]:]
	if end := bytes.IndexByte(line, '\n'); end >= 0 {
		line = line[:end]
	}
	return string(line)
}

// An IndexEntry is a lemma's line of an index file.
type IndexEntry struct {
	Lemma   string
	POS     POS
	Synsets []SynsetID // in WordNet's sense order, most frequent first
	// TagSenseCount is the number of the lemma's senses tagged in WordNet's semantic
	// concordances: a rough frequency of the lemma in this part of speech.
	TagSenseCount int
}

// Index looks a lemma up in the index of pos, as written (no base forms; see BaseForms):
// ok is false when WordNet does not list it.
func (db *DB) Index(word string, pos POS) (e IndexEntry, ok bool, err error) {
	p := db.parts[pos]
	if p == nil {
		return IndexEntry{}, false, fmt.Errorf("wordnet: part of speech %v, expected one of n, v, a, r", pos)
	}
	l := lemma(word)
	line := p.indexLine(l)
	if l == "" || line == "" {
		return IndexEntry{}, false, nil
	}
	// lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
	bad := func(what string) error {
		return fmt.Errorf("wordnet: %s: line %q: %s", p.indexPath, line, what)
	}
	f := strings.Fields(line)
	if len(f) < 6 {
		return IndexEntry{}, false, bad("expected at least 6 fields")
	}
	n, err1 := strconv.Atoi(f[2])
	pc, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || len(f) != 4+pc+2+n {
		return IndexEntry{}, false, bad(fmt.Sprintf("synset_cnt %q and p_cnt %q do not match its %d fields", f[2], f[3], len(f)))
	}
	e = IndexEntry{Lemma: l, POS: pos, Synsets: make([]SynsetID, n)}
	if e.TagSenseCount, err = strconv.Atoi(f[5+pc]); err != nil {
		return IndexEntry{}, false, bad("tagsense_cnt is not a number")
	}
	for i, s := range f[6+pc:] {
		off, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return IndexEntry{}, false, bad(fmt.Sprintf("synset offset %q is not a number", s))
		}
		e.Synsets[i] = SynsetID{pos, off}
	}
	return e, true, nil
}

// Synset reads one synset from its data file.
func (db *DB) Synset(id SynsetID) (Synset, error) {
	p := db.parts[id.POS]
	if p == nil || id.Offset < 0 || id.Offset >= int64(len(p.data)) {
		return Synset{}, fmt.Errorf("wordnet: synset %v: no such part of speech or offset", id)
	}
	line := p.data[id.Offset:]
	if end := bytes.IndexByte(line, '\n'); end >= 0 {
		line = line[:end]
	}
	s, err := parseSynset(string(line), id)
	if err != nil {
		return Synset{}, fmt.Errorf("wordnet: %s at byte %d: %w", p.dataPath, id.Offset, err)
	}
	return s, nil
}

// parseSynset reads a data line:
// synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss
func parseSynset(line string, id SynsetID) (Synset, error) {
	head, gloss, _ := strings.Cut(line, " | ")
	f := strings.Fields(head)
	if len(f) < 4 || len(f[0]) != 8 || !offsetIs(f[0], id.Offset) {
		return Synset{}, fmt.Errorf("line %.40q…, expected a synset line starting with offset %08d", line, id.Offset)
	}
	pos, ok := parsePOS(f[2])
	if !ok || pos != id.POS {
		return Synset{}, fmt.Errorf("ss_type %q, expected one of %v's", f[2], id.POS)
	}
	s := Synset{ID: id, Satellite: f[2] == "s", Gloss: strings.TrimSpace(gloss)}
	wc, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || len(f) < 5+2*int(wc) {
		return Synset{}, fmt.Errorf("w_cnt %q, expected a hex word count its fields hold", f[3])
	}
	for i := 0; i < int(wc); i++ {
		w := f[4+2*i]
		if k := strings.IndexByte(w, '('); k > 0 && strings.HasSuffix(w, ")") {
			w = w[:k] // adjective position markers (a), (p), (ip)
		}
		s.Words = append(s.Words, w)
	}
	rest := f[4+2*wc:]
	pc, err := strconv.Atoi(rest[0])
	if err != nil || len(rest) < 1+4*pc {
		return Synset{}, fmt.Errorf("p_cnt %q, expected a pointer count its fields hold", rest[0])
	}
	for i := 0; i < pc; i++ {
		q := rest[1+4*i : 5+4*i]
		tpos, ok1 := parsePOS(q[2])
		off, err1 := strconv.ParseInt(q[1], 10, 64)
		st, err2 := strconv.ParseUint(q[3], 16, 16)
		if !ok1 || err1 != nil || err2 != nil || len(q[3]) != 4 {
			return Synset{}, fmt.Errorf("pointer %d %q, expected symbol, offset, pos and 4 hex digits of source/target", i, strings.Join(q, " "))
		}
		s.Pointers = append(s.Pointers, Pointer{Rel: Relation(q[0]), Target: SynsetID{tpos, off}, Source: int(st >> 8), Dest: int(st & 0xff)})
	}
	return s, nil
}

func offsetIs(s string, off int64) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n == off
}

// Synsets returns the synsets of word in pos, through its base forms (BaseForms), in sense
// order of each base form in turn.
func (db *DB) Synsets(word string, pos POS) ([]Synset, error) {
	var out []Synset
	seen := map[SynsetID]bool{}
	for _, b := range db.BaseForms(word, pos) {
		e, _, err := db.Index(b, pos)
		if err != nil {
			return nil, err
		}
		for _, id := range e.Synsets {
			if seen[id] {
				continue
			}
			seen[id] = true
			s, err := db.Synset(id)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// lookup returns word's synsets in pos and its base forms there.
func (db *DB) lookup(word string, pos POS) ([]Synset, map[string]bool, error) {
	ss, err := db.Synsets(word, pos)
	bases := map[string]bool{}
	for _, b := range db.BaseForms(word, pos) {
		bases[b] = true
	}
	return ss, bases, err
}

// wordList collects lower-cased words in order, each once, none of those seen at the start.
type wordList struct {
	out  []string
	seen map[string]bool
}

func (l *wordList) add(ws []string) {
	for _, w := range ws {
		if w = strings.ToLower(w); !l.seen[w] {
			l.seen[w] = true
			l.out = append(l.out, w)
		}
	}
}

// Synonyms returns the other words of word's synsets in pos, in sense order, each once.
func (db *DB) Synonyms(word string, pos POS) ([]string, error) {
	ss, bases, err := db.lookup(word, pos)
	if err != nil {
		return nil, err
	}
	l := wordList{seen: bases}
	for _, s := range ss {
		l.add(s.Words)
	}
	return l.out, nil
}

// Related returns the words that rel reaches from word in pos, in sense order, each once.
// A lexical pointer (a derivation, an antonym) counts only from word itself and reaches only
// its target word; a semantic one (a hypernym, similar-to) reaches the whole target synset.
func (db *DB) Related(word string, pos POS, rel Relation) ([]string, error) {
	ss, bases, err := db.lookup(word, pos)
	if err != nil {
		return nil, err
	}
	l := wordList{seen: map[string]bool{}}
	for _, s := range ss {
		for _, p := range s.Pointers {
			if p.Rel != rel || p.Source > 0 && (p.Source > len(s.Words) || !bases[strings.ToLower(s.Words[p.Source-1])]) {
				continue
			}
			t, err := db.Synset(p.Target)
			if err != nil {
				return nil, err
			}
			if p.Dest > 0 && p.Dest <= len(t.Words) {
				l.add(t.Words[p.Dest-1 : p.Dest])
			} else {
				l.add(t.Words)
			}
		}
	}
	return l.out, nil
}
