package clevr

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The project's own goal language. Training goals and rephrased goals use disjoint sentence
// patterns and disjoint content words (verbs, object nouns, colour words, relation phrases):
// a policy trained on the training wording never sees a rephrase word. The unseen levels have
// their own patterns. Relation words name relations (behind, left, front, right), whose world
// direction depends on the convention (Config.Convention); the rephrase level's compass words
// (north, west, south, east) are synonyms of behind, left, front and right.
//
// Placeholders: {v} verb, {vp} its past participle, {a} and {b} the source and destination
// noun phrases ("red ball"), {r} a relation phrase, {d} a movement direction phrase, {c} the
// joined relation clauses of a hard goal.

type verb struct{ base, part string }

type vocabulary struct {
	colors   [MaxBalls][]string
	objects  []string
	verbs    []verb
	rel      [NumRelations][]string
	patterns []string
}

var trainVocab = vocabulary{
	colors: [MaxBalls][]string{
		{"red", "scarlet"}, {"blue", "azure"}, {"green", "lime"}, {"purple", "violet"}, {"cyan", "aqua"},
	},
	objects: []string{"ball", "sphere", "orb"},
	verbs: []verb{
		{"push", "pushed"}, {"move", "moved"}, {"shove", "shoved"}, {"slide", "slid"}, {"nudge", "nudged"}, {"put", "put"},
	},
	rel: [NumRelations][]string{
		RelBehind: {"behind", "at the back of", "to the rear of"},
		RelLeft:   {"to the left of", "left of", "leftward of"},
		RelFront:  {"in front of", "ahead of", "at the front of"},
		RelRight:  {"to the right of", "right of", "rightward of"},
	},
	patterns: []string{
		"{v} the {a} {r} the {b}",
		"please {v} the {a} {r} the {b}",
		"can you {v} the {a} {r} the {b}",
		"could you help me {v} the {a} {r} the {b}",
		"i want the {a} {r} the {b}",
		"is the {a} {r} the {b}",
		"the {a} should end up {r} the {b}",
		"the {a} is being {vp} {r} the {b}",
		"the {a} was {vp} {r} the {b}",
		"make sure the {a} is {r} the {b}",
		"{v} the {a} until it sits {r} the {b}",
		"the {a} needs to go {r} the {b}",
		"your task is to {v} the {a} {r} the {b}",
		"try to {v} the {a} {r} the {b}",
		"{a} {r} {b}",
		"we need the {a} {r} the {b}",
	},
}

var rephraseVocab = vocabulary{
	colors: [MaxBalls][]string{
		{"crimson", "ruby"}, {"sapphire", "cobalt"}, {"emerald", "jade"}, {"lavender", "plum"}, {"turquoise", "teal"},
	},
	objects: []string{"marble", "globe", "bead"},
	verbs: []verb{
		{"relocate", "relocated"}, {"shift", "shifted"}, {"roll", "rolled"}, {"bring", "brought"}, {"guide", "guided"}, {"steer", "steered"},
	},
	rel: [NumRelations][]string{
		RelBehind: {"north of", "on the far side of", "beyond"},
		RelLeft:   {"west of", "on the port side of", "westward of"},
		RelFront:  {"south of", "on the near side of", "nearer to the viewer than"},
		RelRight:  {"east of", "on the starboard side of", "eastward of"},
	},
	patterns: []string{
		"kindly {v} the {a} so that it rests {r} the {b}",
		"would it be possible to {v} the {a} {r} the {b}",
		"i would be delighted if the {a} sat {r} the {b}",
		"it annoys me that the {a} is not {r} the {b}",
		"my wish is for the {a} to lie {r} the {b}",
		"carefully {v} the {a} {r} the {b}",
		"might the {a} be {vp} {r} the {b}",
		"i would love to see the {a} {r} the {b}",
		"{v} the {a} {r} the {b} quickly",
		"ideally the {a} finishes {r} the {b}",
		"rearrange things so the {a} lands {r} the {b}",
		"the {a} belongs {r} the {b}",
	},
}

// stopWords may appear in both training and rephrase wording.
var stopWords = map[string]bool{
	"the": true, "a": true, "an": true, "of": true, "to": true, "is": true, "it": true, "me": true,
	"i": true, "you": true, "that": true, "so": true, "be": true, "for": true, "my": true, "and": true,
}

var (
	moveDirs = [NumRelations][]string{
		RelBehind: {"backward", "toward the back", "away from the viewer"},
		RelLeft:   {"to the left", "leftward", "toward the left side"},
		RelFront:  {"forward", "toward the front", "toward the viewer"},
		RelRight:  {"to the right", "rightward", "toward the right side"},
	}
	movePatterns = []string{
		"{v} the {a} {d}",
		"{v} the {a} one step {d}",
		"give the {a} a single push {d}",
		"can you {v} the {a} {d}",
		"i want the {a} to go {d}",
		"{v} the {a} a little {d}",
	}
	stillPatterns = []string{
		"keep all the balls still",
		"do not move anything",
		"leave every ball where it is",
		"hold still and move nothing",
		"nothing should move",
		"let every sphere stay still",
	}
	hardRelationPatterns = []string{
		"{v} {c}",
		"i want {c}",
		"make sure that {c}",
		"arrange things so that {c}",
	}
	linePatterns = []string{
		"line up the balls from left to right in the order red blue green purple cyan",
		"put all the balls in a row from left to right red blue green purple then cyan",
		"arrange the balls in a horizontal line ordered red blue green purple cyan from left to right",
		"make a row of spheres going left to right red then blue then green then purple then cyan",
		"place the balls in a line sorted by colour red blue green purple cyan left to right",
	}
	gatherPatterns = []string{
		"gather all the balls around the green ball",
		"cluster the other balls around the green one",
		"bring every ball close around the green sphere",
		"make the green ball the centre of a circle of balls",
		"surround the green ball with the other balls",
	}
)

// Language generates goal texts. It is stateless; the zero value is ready to use.
type Language struct{}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func (v *vocabulary) noun(rng *rand.Rand, ball int, obj string) string {
	return pick(rng, v.colors[ball][:]) + " " + obj
}

func fill(pattern string, kv map[string]string) string {
	for k, v := range kv {
		pattern = strings.ReplaceAll(pattern, "{"+k+"}", v)
	}
	return pattern
}

// text draws one phrasing of t.
func (Language) text(t *Task, rng *rand.Rand) string {
	switch t.Kind {
	case KindRelation:
		v := &trainVocab
		if t.Level == LevelRephrase {
			v = &rephraseVocab
		}
		r := t.Relations[0]
		obj := pick(rng, v.objects)
		vb := pick(rng, v.verbs)
		return fill(pick(rng, v.patterns), map[string]string{
			"v": vb.base, "vp": vb.part, "a": v.noun(rng, r.Src, obj), "b": v.noun(rng, r.Dst, obj), "r": pick(rng, v.rel[r.Dir]),
		})
	case KindRelations:
		v := &trainVocab
		obj := pick(rng, v.objects)
		clauses := make([]string, len(t.Relations))
		order := rng.Perm(len(t.Relations))
		for i, k := range order {
			r := t.Relations[k]
			clauses[i] = "the " + v.noun(rng, r.Src, obj) + " " + pick(rng, v.rel[r.Dir]) + " the " + v.noun(rng, r.Dst, obj)
		}
		c := strings.Join(clauses[:len(clauses)-1], " and ") + " and " + clauses[len(clauses)-1]
		if len(clauses) == 3 && rng.IntN(2) == 0 {
			c = clauses[0] + " and " + clauses[1] + " and also " + clauses[2]
		}
		return fill(pick(rng, hardRelationPatterns), map[string]string{"v": pick(rng, v.verbs).base, "c": c})
	case KindMove:
		v := &trainVocab
		return fill(pick(rng, movePatterns), map[string]string{
			"v": pick(rng, v.verbs).base, "a": v.noun(rng, t.Ball, pick(rng, v.objects)), "d": pick(rng, moveDirs[t.Dir]),
		})
	case KindStill:
		return pick(rng, stillPatterns)
	case KindLine:
		return pick(rng, linePatterns)
	case KindGather:
		return pick(rng, gatherPatterns)
	}
	return ""
}

// Texts returns up to n distinct phrasings of t drawn from rng (fewer when the task has fewer).
func (l Language) Texts(t *Task, n int, rng *rand.Rand) []string {
	seen := map[string]bool{}
	var out []string
	for tries := 0; len(out) < n && tries < 20*n+50; tries++ {
		s := l.text(t, rng)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// phrase is an entry of the parser's lexicon.
type phrase struct {
	words    []string
	color    int // ≥ 0 for a colour word
	dir      int // ≥ 0 for a direction
	rel      bool
	move     bool
	rephrase bool // the word belongs to the rephrase vocabulary only
}

var lexicon = buildLexicon()

func buildLexicon() map[string][]phrase {
	lex := map[string][]phrase{}
	add := func(s string, p phrase) {
		p.words = strings.Fields(s)
		lex[p.words[0]] = append(lex[p.words[0]], p)
	}
	for i, v := range []*vocabulary{&trainVocab, &rephraseVocab} {
		for b, cs := range v.colors {
			for _, c := range cs {
				add(c, phrase{color: b, dir: -1, rephrase: i == 1})
			}
		}
		for d, rs := range v.rel {
			for _, r := range rs {
				add(r, phrase{color: -1, dir: d, rel: true, rephrase: i == 1})
			}
		}
	}
	for d, ms := range moveDirs {
		for _, m := range ms {
			add(m, phrase{color: -1, dir: d, move: true})
		}
	}
	// Other common phrasings the parser understands (explanations written by people or LMs).
	for d, ws := range [NumRelations][]string{
		RelBehind: {"behind", "in behind of", "to the behind of", "back of", "in back of", "at the rear of", "to the back of", "above"},
		RelLeft:   {"left", "in left of", "on the left of", "on the left side of", "to the left side of", "leftwards of"},
		RelFront:  {"front", "in front", "to the front of", "in the front of", "before", "below"},
		RelRight:  {"right", "in right of", "on the right of", "on the right side of", "to the right side of", "rightwards of"},
	} {
		for _, w := range ws {
			add(w, phrase{color: -1, dir: d, rel: true, move: !strings.HasSuffix(w, " of")})
		}
	}
	for d, ws := range [NumRelations][]string{
		RelBehind: {"back", "backwards", "away"},
		RelLeft:   {"leftwards"},
		RelFront:  {"forwards", "toward me", "towards the front"},
		RelRight:  {"rightwards"},
	} {
		for _, w := range ws {
			add(w, phrase{color: -1, dir: d, move: true})
		}
	}
	return lex
}

var (
	gatherWords = []string{"gather", "cluster", "around", "surround", "circle", "huddle", "centre", "center"}
	lineWords   = []string{"line", "row"}
	stillWords  = []string{"still", "nothing", "anything", "stay", "where"}
)

// ErrNoGoal is returned (wrapped) when a text names no goal the parser knows.
var ErrNoGoal = errors.New("no goal recognised")

// Parse maps a goal text back to its structured form: the level is "rephrase" when the text
// uses rephrase-only words, else the level the task kind belongs to. It understands every
// text Language generates and many other phrasings; text naming no goal gives an error
// wrapping ErrNoGoal.
func Parse(text string) (Task, error) {
	norm := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return ' '
	}, strings.ToLower(text))
	toks := strings.Fields(norm)
	has := func(ws []string) bool {
		for _, t := range toks {
			for _, w := range ws {
				if t == w {
					return true
				}
			}
		}
		return false
	}
	type item struct {
		phrase
		pos int
	}
	var items []item
	rephrase := false
	for i := 0; i < len(toks); {
		best := -1
		var bp phrase
		for _, p := range lexicon[toks[i]] {
			if len(p.words) > best && i+len(p.words) <= len(toks) && equalWords(toks[i:i+len(p.words)], p.words) {
				best, bp = len(p.words), p
			}
		}
		if best < 0 {
			i++
			continue
		}
		items = append(items, item{bp, i})
		rephrase = rephrase || bp.rephrase
		i += best
	}
	var colors []int
	for _, it := range items {
		if it.color >= 0 {
			colors = append(colors, it.color)
		}
	}
	switch {
	case has(gatherWords) && has([]string{"green", "emerald", "jade"}):
		return Task{Level: LevelHard, Kind: KindGather}, nil
	case has(lineWords) && len(colors) >= 2:
		return Task{Level: LevelHard, Kind: KindLine}, nil
	case len(colors) == 0 && has(stillWords):
		return Task{Level: LevelEasy, Kind: KindStill}, nil
	}
	// Relations: a relation phrase with a colour before it (source) and after it (destination).
	var rels []Relation
	for k, it := range items {
		if it.dir < 0 || !it.rel {
			continue
		}
		src, dst := -1, -1
		for j := k - 1; j >= 0 && items[j].dir < 0; j-- {
			if items[j].color >= 0 {
				src = items[j].color
				break
			}
		}
		for j := k + 1; j < len(items) && items[j].dir < 0; j++ {
			if items[j].color >= 0 {
				dst = items[j].color
				break
			}
		}
		if src >= 0 && dst >= 0 && src != dst {
			rels = append(rels, Relation{src, dst, it.dir})
		}
	}
	switch {
	case len(rels) == 1:
		level := LevelTrain
		if rephrase {
			level = LevelRephrase
		}
		return Task{Level: level, Kind: KindRelation, Relations: rels}, nil
	case len(rels) == 2 || len(rels) == 3:
		sortRelations(rels)
		return Task{Level: LevelHard, Kind: KindRelations, Relations: rels}, nil
	case len(rels) > 3:
		return Task{}, fmt.Errorf("clevr: goal text %q: %d relations, at most 3 supported: %w", text, len(rels), ErrNoGoal)
	}
	// A move: one colour and a movement direction.
	if len(colors) == 1 {
		for _, it := range items {
			if it.dir >= 0 && it.move {
				return Task{Level: LevelEasy, Kind: KindMove, Ball: colors[0], Dir: it.dir}, nil
			}
		}
	}
	return Task{}, fmt.Errorf("clevr: goal text %q: found %d colour words and %d direction words but no relation, move, still, line or gather goal: %w",
		text, len(colors), len(items)-len(colors), ErrNoGoal)
}

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
