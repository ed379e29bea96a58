package tinylm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
)

// TestRolloutPrompt: the explanation task's rollout prompt is the same in
// grounding (builder) and in Explain (model), and read backward it keeps
// the rollout's end, where the goal is reached, at the same positions
// whatever the rollout's length and when the context cuts the rollout
// (the forward order cuts the end: a rollout of 8 steps in a context of
// 16 lost its last 4 states, the ones that say which goal it reached).
func TestRolloutPrompt(t *testing.T) {
	tok, err := bpe.Train([]string{"go left", "go right"}, 80)
	if err != nil {
		t.Fatal(err)
	}
	const od = 2
	norm := Norm{Mean: []float32{0, 0}, Std: []float32{1, 1}, Delta: []float32{1, 1}}
	for _, tc := range []struct {
		order, reads string
		pairs        int
		steps, ctx   int
		first, last  int // the rollout states (by step) at the prompt's first and last state slot
		states       int // state slots in the prompt
	}{
		{order: OrderBackward, steps: 3, ctx: 40, first: 3, last: 0, states: 4},
		{order: OrderBackward, steps: 8, ctx: 16, first: 8, last: 4, states: 5},
		{order: OrderForward, steps: 3, ctx: 40, first: 0, last: 3, states: 4},
		{order: OrderForward, steps: 8, ctx: 16, first: 0, last: 4, states: 5},
		{order: OrderForward, reads: ReadsStates, steps: 20, ctx: 16, first: 0, last: 8, states: 9},
		{order: OrderBackward, reads: ReadsStates, steps: 20, ctx: 16, first: 20, last: 12, states: 9},
		{order: OrderForward, pairs: 3, steps: 3, ctx: 40, first: 0, last: 3, states: 4},
		{order: OrderForward, pairs: 3, steps: 8, ctx: 16, first: 0, last: 3, states: 4},
		{order: OrderForward, reads: ReadsPairs, pairs: 3, steps: 8, ctx: 16, states: 0},
	} {
		t.Run(fmt.Sprintf("%s/%s/pairs-%d/%d-steps/context-%d", tc.order, tc.reads, tc.pairs, tc.steps, tc.ctx), func(t *testing.T) {
			shape := Shape{Vocab: tok.Size() + numExtra, ObsDim: od, Actions: 4, Discrete: true, Context: tc.ctx, Dim: 8, Layers: 1, Heads: 1}
			if tc.pairs > 0 {
				shape.Slots, shape.SlotHidden, shape.Pairs = 2, 4, tc.pairs
			}
			nm, err := NewModel(shape, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.ExplainOrder = tc.order
			if tc.reads != "" {
				cfg.ExplainReads = tc.reads
			}
			v := newVocab(tok)
			m := &model{loaded: &loaded{h: &header{Shape: shape, Config: cfg}, model: nm, v: v, norm: &norm, od: od, ad: 1}}
			b := cfg.newBuilder(v, &norm, shape, od, 1)
			// State k is (k, −k); action k is k mod 4.
			var obs, act []float32
			for k := 0; k <= tc.steps; k++ {
				obs = append(obs, float32(k), -float32(k))
				if k < tc.steps {
					act = append(act, float32(k%4))
				}
			}
			const room = 3 // tokens of text the prompt leaves room for
			var s seq
			b.rolloutPrompt(&s, obs, act, room+1) // as rolloutToGoal for a text of room tokens
			p := m.rolloutPrompt(obs, act, room)
			if len(p) != s.len() {
				t.Fatalf("Explain's prompt has %d positions, grounding's %d", len(p), s.len())
			}
			var states []int
			pairs, actions := 0, 0
			for i, in := range p {
				if in.kind != s.kind[i] {
					t.Fatalf("position %d: Explain has kind %d, grounding %d", i, in.kind, s.kind[i])
				}
				switch in.kind {
				case kindState:
					got := s.obs[int(s.tok[i])*od : (int(s.tok[i])+1)*od]
					if !slices.Equal(in.vec, got) {
						t.Fatalf("position %d: Explain's state %v, grounding's %v", i, in.vec, got)
					}
					states = append(states, int(in.vec[0]))
				case kindPair:
					// The last step's transition: each slot in s_T, then in s_T−1.
					pairs++
					T := float32(tc.steps)
					if want := []float32{T, T - 1, -T, 1 - T}; !slices.Equal(in.vec, want) {
						t.Fatalf("position %d: pair token reads %v, want %v", i, in.vec, want)
					}
				default:
					if in.kind == kindAction {
						actions++
					}
					if in.id != s.tok[i] {
						t.Fatalf("position %d: Explain's id %d, grounding's %d", i, in.id, s.tok[i])
					}
				}
			}
			if len(p)+room > tc.ctx {
				t.Errorf("prompt of %d positions leaves no room for %d tokens in a context of %d", len(p), room, tc.ctx)
			}
			if len(states) != tc.states || (tc.states > 0 && (states[0] != tc.first || states[len(states)-1] != tc.last)) {
				t.Errorf("the prompt's states are steps %v, want %d states from step %d to step %d", states, tc.states, tc.first, tc.last)
			}
			if want := shape.pairTokens(); pairs != want {
				t.Errorf("%d pair tokens, want %d", pairs, want)
			}
			wantActions := len(states) - 1
			if tc.reads == ReadsStates || tc.reads == ReadsPairs {
				wantActions = 0
			}
			if actions != wantActions {
				t.Errorf("%d actions, want %d", actions, wantActions)
			}
		})
	}
}
