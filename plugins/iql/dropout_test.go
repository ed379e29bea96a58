package iql

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

type dropCase struct {
	name  string
	space dataset.Space
}

var dropSpaces = []dropCase{{"continuous", dataset.BoxSpace(2, -1, 1)}, {"discrete", dataset.DiscreteSpace(4)}}

func newIQL(t *testing.T, space dataset.Space, hyper map[string]any, pcg *rand.PCG) (*Learner, error) {
	t.Helper()
	h, err := offline.Resolve(Factory.Schema(), hyper)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(offline.Spec{InDim: 3, Space: space, Steps: 100}, h, rand.New(pcg))
	if err != nil {
		return nil, err
	}
	return l.(*Learner), nil
}

// dropBatch is a fixed batch of 16 transitions for space.
func dropBatch(space dataset.Space, k int) *offline.Batch {
	ad := 1
	if space.Kind == dataset.Continuous {
		ad = space.Dim
	}
	b := offline.NewBatch(16, 3, ad)
	rng := rand.New(rand.NewPCG(uint64(k), 99))
	nn.Normal(rng, b.Obs, 1)
	nn.Normal(rng, b.NextObs, 1)
	nn.Normal(rng, b.Rew, 1)
	for i := range b.ActIdx {
		if space.Kind == dataset.Discrete {
			b.ActIdx[i] = int32(rng.IntN(space.N))
			b.Act[i] = float32(b.ActIdx[i])
		}
	}
	if space.Kind == dataset.Continuous {
		nn.Uniform(rng, b.Act, 0.9)
	}
	return b
}

func train(l *Learner, space dataset.Space, steps int) {
	for k := range steps {
		l.Update(dropBatch(space, k))
	}
}

func tensor(l *Learner, name string) []float32 {
	for _, p := range l.State() {
		if p.Name == name {
			return p.Value
		}
	}
	return nil
}

// TestActorDropout: with actor_dropout > 0 training is deterministic for a
// seed, changes only the actor (Q and V updates do not depend on it), and
// acting is never dropped out nor draws from the learner's stream.
func TestActorDropout(t *testing.T) {
	for _, tc := range dropSpaces {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(p float64) (*Learner, *rand.PCG) {
				pcg := rand.NewPCG(4, 2)
				l, err := newIQL(t, tc.space, map[string]any{"hidden": 16, "actor_dropout": p}, pcg)
				if err != nil {
					t.Fatal(err)
				}
				train(l, tc.space, 5)
				return l, pcg
			}
			a, pcgA := mk(0.3)
			b, _ := mk(0.3)
			plain, _ := mk(0)
			for i, p := range a.State() {
				if !offlinetest.BitEqual(p.Value, b.State()[i].Value) {
					t.Fatalf("same seed: tensor %s differs", p.Name)
				}
			}
			for _, name := range []string{"q1/0.weight", "q2_t/2.bias", "vf/0.weight"} {
				if !offlinetest.BitEqual(tensor(a, name), tensor(plain, name)) {
					t.Errorf("%s depends on actor dropout", name)
				}
			}
			if offlinetest.BitEqual(tensor(a, "actor/net.0.weight"), tensor(plain, "actor/net.0.weight")) {
				t.Error("actor with dropout 0.3 trained exactly as without: dropout had no effect")
			}

			// Acting: the plain forward pass, the same on every call, no draws.
			obs := dropBatch(tc.space, 9).ObsMat()
			ad := 1
			if tc.space.Kind == dataset.Continuous {
				ad = tc.space.Dim
			}
			before, _ := pcgA.MarshalBinary()
			x, y := make([]float32, obs.Rows*ad), make([]float32, obs.Rows*ad)
			a.Act(obs, true, nil, x)
			a.Act(obs, true, nil, y)
			after, _ := pcgA.MarshalBinary()
			if !bytes.Equal(before, after) {
				t.Error("Act drew from the learner's random stream")
			}
			if !offlinetest.BitEqual(x, y) {
				t.Fatalf("Act is not repeatable: %v, %v", x, y)
			}
			var want []float32
			if tc.space.Kind == dataset.Continuous {
				want = append(want, a.Actor.Net.Forward(obs).Data...)
			} else {
				logits := a.Logits.Forward(obs)
				for i := range obs.Rows {
					want = append(want, float32(offline.Argmax(logits.Row(i))))
				}
			}
			if !offlinetest.BitEqual(x, want) {
				t.Fatalf("Act %v, network without dropout %v", x, want)
			}
		})
	}
}

func TestActorDropoutRejected(t *testing.T) {
	for _, p := range []float64{-0.1, 1, 1.5} {
		_, err := newIQL(t, dataset.BoxSpace(2, -1, 1), map[string]any{"actor_dropout": p}, rand.NewPCG(1, 1))
		if err == nil || !strings.Contains(err.Error(), "actor_dropout") || !strings.Contains(err.Error(), "[0, 1)") {
			t.Errorf("actor_dropout %v: error %v, want one naming actor_dropout and [0, 1)", p, err)
		}
	}
}
