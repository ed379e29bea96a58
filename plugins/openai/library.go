package openai

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

// libraryFormat heads every library file.
const libraryFormat = "kalm-openai-library"

// libraryVersion is the library file's format version.
const libraryVersion = 1

// Library is the openai backend's "checkpoint": the prompt library
// grounding builds instead of weights. It names the server and model, holds
// the env's spec and a pool of training rollouts from which every prompt
// picks its few-shot examples, and the held-out check's progress. It is
// JSON; the API key is never in it.
type Library struct {
	Format  string         `json:"format"`
	Version int            `json:"version"`
	Config  Config         `json:"config"` // base URL, model, limits (no key)
	Env     string         `json:"env"`
	Spec    openaiapi.Spec `json:"spec"`
	Horizon int            `json:"horizon"` // the longest training rollout
	Tasks   []lm.Task      `json:"tasks"`
	Seed    uint64         `json:"seed"`
	Steps   int            `json:"steps"` // the check's length
	Pool    []Rollout      `json:"pool"`
	Heldout []Rollout      `json:"heldout"`
	Check   Check          `json:"check"`
}

// Rollout is a training rollout: its goal text, T+1 states and T actions.
type Rollout struct {
	Goal    string      `json:"goal"`
	States  [][]float32 `json:"states"`
	Actions [][]float32 `json:"actions"`
}

// Check is the held-out check's running sums after Done steps.
type Check struct {
	Done int `json:"done"`
	// Per query kind (dynamics, explain, act): queries, their summed
	// score (L2 error; exact text; matching action), failed replies.
	N      map[string]int     `json:"n"`
	Sum    map[string]float64 `json:"sum"`
	Failed map[string]int     `json:"failed"`
}

// metrics are the check's figures on held-out rollouts: the dynamics
// error (mean L2 over the replies that fit the spec), the explanation match
// rate (the goal's text, up to case and spacing) and the generation match
// rate (the rollout's own action; continuous: within a tenth of the range),
// a failed reply counting as a miss; and each kind's share of failed replies.
func (c *Check) metrics() map[string]float64 {
	m := map[string]float64{}
	for k, name := range map[string]string{"dynamics": "check/dynamics_l2", "explain": "check/explain_match", "act": "check/generate_match"} {
		n := c.N[k]
		if n == 0 {
			continue
		}
		m["check/"+k+"_failed"] = float64(c.Failed[k]) / float64(n)
		if k == "dynamics" {
			n -= c.Failed[k]
		}
		if n > 0 {
			m[name] = c.Sum[k] / float64(n)
		}
	}
	return m
}

// save writes the library to path atomically.
func (l *Library) save(path string) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadLibrary reads a library file and checks it is one.
func loadLibrary(path string) (*Library, error) {
	if path == "" {
		return nil, fmt.Errorf("openai: no checkpoint (prompt library) given")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("openai: checkpoint: %w", err)
	}
	var l Library
	if err := json.Unmarshal(b, &l); err != nil || l.Format != libraryFormat {
		return nil, fmt.Errorf("openai: checkpoint %s is not a prompt library of the openai backend (format %q)", path, libraryFormat)
	}
	if l.Version != libraryVersion {
		return nil, fmt.Errorf("openai: checkpoint %s: library format version %d, this kalm reads %d", path, l.Version, libraryVersion)
	}
	if l.Spec.ObsDim < 1 || l.Spec.Actions.Validate() != nil || len(l.Pool) == 0 {
		return nil, fmt.Errorf("openai: checkpoint %s: a library without a spec or rollouts", path)
	}
	return &l, nil
}

// libraryPath is where a Ground writes its library (step 0: the final one).
func libraryPath(dir string, step int) string {
	if step == 0 {
		return filepath.Join(dir, "library.json")
	}
	return filepath.Join(dir, fmt.Sprintf("library-step-%d.json", step))
}

// num formats x with the library's significant digits.
func (l *Library) num(x float32) string {
	return strconv.FormatFloat(float64(x), 'g', l.Config.Digits, 32)
}

// vec formats a vector compactly: [1,0.25,-3].
func (l *Library) vec(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.num(x))
	}
	b.WriteByte(']')
	return b.String()
}

func (l *Library) vecs(vs [][]float32) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = l.vec(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// system is the first message of every prompt: what states and actions are.
func (l *Library) system() string {
	sp := l.Spec.Actions
	act := fmt.Sprintf("an action is [k], one of the %d discrete actions 0..%d", sp.N, sp.N-1)
	if sp.Kind == dataset.Continuous {
		act = fmt.Sprintf("an action is a vector of %d numbers within %s..%s", sp.Dim, l.vec(sp.Low), l.vec(sp.High))
	}
	return fmt.Sprintf("You are the world model of the environment %q, grounded in its recorded rollouts. "+
		"A state is a vector of %d numbers; %s. A rollout is a state, then an action and the state it leads to, step after step, "+
		"towards a goal given in words. Each request ends with a JSON line naming the task; answer with JSON only, following the schema.",
		l.Env, l.Spec.ObsDim, act)
}

// instructions precede a task's query line.
var instructions = map[string]string{
	openaiapi.TaskGenerate: "Imagine the rollout that pursues the goal from the state: the given number of steps (fewer only if you cannot go on), each the action taken and the state it leads to.",
	openaiapi.TaskExplain:  "Say in words the goal this rollout pursues.",
	openaiapi.TaskPredict:  "Predict the state that taking the action in the state leads to.",
	openaiapi.TaskAct:      "Choose the next action towards the goal, given the states so far and the actions taken between them.",
}

// user is a user message: the task's instruction, then the query line.
func user(q openaiapi.Query) openaiapi.Message {
	return openaiapi.Message{Role: "user", Content: instructions[q.Task] + "\n" + q.Line()}
}

// example is one few-shot turn: a query and its answer, in the library's
// compact numbers.
type example struct {
	query, answer string
}

func (e example) tokens() int { return estimate(len(e.query) + len(e.answer)) }

// estimate is a token count from bytes: four a token.
func estimate(bytes int) int { return (bytes + 3) / 4 }

// exGenerate is a training rollout as a generate example.
func (l *Library) exGenerate(r *Rollout) example {
	q := fmt.Sprintf(`{"task":"generate","goal":%q,"state":%s,"steps":%d}`, r.Goal, l.vec(r.States[0]), len(r.Actions))
	steps := make([]string, len(r.Actions))
	for t := range r.Actions {
		steps[t] = `{"action":` + l.vec(r.Actions[t]) + `,"state":` + l.vec(r.States[t+1]) + `}`
	}
	return example{q, `{"steps":[` + strings.Join(steps, ",") + `]}`}
}

func (l *Library) exExplain(r *Rollout) example {
	q := `{"task":"explain","states":` + l.vecs(r.States) + `,"actions":` + l.vecs(r.Actions) + `}`
	a, _ := json.Marshal(openaiapi.ExplainReply{Goal: r.Goal})
	return example{q, string(a)}
}

func (l *Library) exPredict(r *Rollout, t int) example {
	q := `{"task":"predict","state":` + l.vec(r.States[t]) + `,"action":` + l.vec(r.Actions[t]) + `}`
	return example{q, `{"state":` + l.vec(r.States[t+1]) + `}`}
}

func (l *Library) exAct(r *Rollout, t int) example {
	from := max(0, t-l.Config.History)
	q := fmt.Sprintf(`{"task":"act","goal":%q,"states":%s,"actions":%s}`, r.Goal, l.vecs(r.States[from:t+1]), l.vecs(r.Actions[from:t]))
	return example{q, `{"action":` + l.vec(r.Actions[t]) + `}`}
}

// words is a goal text's set of lower-case words.
func words(s string) map[string]bool {
	w := map[string]bool{}
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r > 127)
	}) {
		w[f] = true
	}
	return w
}

// similarity is the Jaccard index of two goal texts' words.
func similarity(a, b map[string]bool) float64 {
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

func dist2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return s
}

// nearestByGoal orders the pool by the similarity of its goals to goal,
// most similar first (ties: pool order).
func (l *Library) nearestByGoal(goal string) []int {
	g := words(goal)
	score := make([]float64, len(l.Pool))
	for i := range l.Pool {
		score[i] = similarity(g, words(l.Pool[i].Goal))
	}
	idx := make([]int, len(l.Pool))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	return idx
}

// pick keeps examples in order while they fit the budget and the number of
// shots; an example too large for the budget, or one already picked (the
// data repeat themselves), is skipped.
func (l *Library) pick(n int, build func(k int) (example, bool)) []example {
	var out []example
	seen := map[string]bool{}
	used := 0
	for k := 0; k < n && len(out) < l.Config.Shots; k++ {
		ex, ok := build(k)
		if !ok || seen[ex.query] || used+ex.tokens() > l.Config.Budget {
			continue
		}
		seen[ex.query] = true
		used += ex.tokens()
		out = append(out, ex)
	}
	return out
}

// examples picks the few-shot examples of a query: for generate and act the
// pool's rollouts with the nearest goal texts; for explain the rollouts that
// start and end nearest the query's; for predict the transitions whose
// state is nearest (with the same action, when discrete).
func (l *Library) examples(q *openaiapi.Query) []example {
	switch q.Task {
	case openaiapi.TaskGenerate:
		idx := l.nearestByGoal(q.Goal)
		return l.pick(len(idx), func(k int) (example, bool) { return l.exGenerate(&l.Pool[idx[k]]), true })
	case openaiapi.TaskAct:
		idx := l.nearestByGoal(q.Goal)
		return l.pick(len(idx), func(k int) (example, bool) {
			r := &l.Pool[idx[k]]
			if len(r.Actions) == 0 {
				return example{}, false
			}
			return l.exAct(r, min(len(q.Actions), len(r.Actions)-1)), true
		})
	case openaiapi.TaskExplain:
		first, last := q.States[0], q.States[len(q.States)-1]
		idx := l.order(func(r *Rollout) float64 { return dist2(r.States[0], first) + dist2(r.States[len(r.States)-1], last) })
		return l.pick(len(idx), func(k int) (example, bool) { return l.exExplain(&l.Pool[idx[k]]), true })
	case openaiapi.TaskPredict:
		type tr struct {
			r, t int
			d    float64
		}
		var all []tr
		for i := range l.Pool {
			r := &l.Pool[i]
			for t := range r.Actions {
				if l.Spec.Actions.Kind == dataset.Discrete && !slices.Equal(r.Actions[t], q.Action) {
					continue
				}
				all = append(all, tr{i, t, dist2(r.States[t], q.State)})
			}
		}
		sort.SliceStable(all, func(a, b int) bool { return all[a].d < all[b].d })
		return l.pick(len(all), func(k int) (example, bool) { return l.exPredict(&l.Pool[all[k].r], all[k].t), true })
	}
	return nil
}

// order sorts the pool by a distance, nearest first.
func (l *Library) order(d func(*Rollout) float64) []int {
	dist := make([]float64, len(l.Pool))
	idx := make([]int, len(l.Pool))
	for i := range l.Pool {
		dist[i], idx[i] = d(&l.Pool[i]), i
	}
	sort.SliceStable(idx, func(a, b int) bool { return dist[idx[a]] < dist[idx[b]] })
	return idx
}

// messages is a query's prompt: the system message, the few-shot examples
// as user and assistant turns, and the query.
func (l *Library) messages(q openaiapi.Query) []openaiapi.Message {
	msgs := []openaiapi.Message{{Role: "system", Content: l.system()}}
	for _, ex := range l.examples(&q) {
		msgs = append(msgs, openaiapi.Message{Role: "user", Content: instructions[q.Task] + "\n" + ex.query},
			openaiapi.Message{Role: "assistant", Content: ex.answer})
	}
	return append(msgs, user(q))
}

// finite reports a NaN or Inf in v.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
