package tinylm

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/nn"
)

// The shapes of docs/bench-tinylm.py's defaults: four task micro-batches of
// 32 rows (goal→rollout and rollout→goal 64 positions, dynamics 4,
// consequence 24, goals of 12 tokens), vocabulary 400, width 128, 3 layers,
// 4 heads, 160 positions, CLEVR's 10-d states and 40 actions.
const (
	benchBatch = 32
	benchGoal  = 12
)

var benchShape = Shape{Vocab: 400, ObsDim: 10, Actions: 40, Discrete: true, Context: 160, Dim: 128, Layers: 3, Heads: 4}

// benchCorpus is random episodes whose rollouts fill the benchmark's rows.
func benchBatches(rng *rand.Rand) (*builder, map[lm.Task]*Batch) {
	norm := Norm{Mean: make([]float32, 10), Std: make([]float32, 10), Delta: make([]float32, 10)}
	for i := range norm.Std {
		norm.Std[i], norm.Delta[i] = 1, 1
	}
	b := &builder{shape: benchShape, od: 10, ad: 1, norm: &norm, v: vocab{base: 392}}
	ep := func(steps int) episode {
		e := episode{obs: make([]float32, (steps+1)*10), act: make([]float32, steps)}
		for i := range e.obs {
			e.obs[i] = rng.Float32()
		}
		for i := range e.act {
			e.act[i] = float32(rng.IntN(40))
		}
		text := make([]int32, benchGoal)
		for i := range text {
			text[i] = int32(3 + rng.IntN(380))
		}
		e.texts = [][]int32{text}
		return e
	}
	out := map[lm.Task]*Batch{}
	for _, task := range lm.Tasks {
		seqs := make([]seq, benchBatch)
		for i := range seqs {
			s := &seqs[i]
			// 64 positions: 15 of prompt, then s0 and 24 steps.
			e := ep(24)
			text := e.texts[0]
			switch task {
			case lm.GoalToRollout:
				s.text(1)
				s.text(395)
				for _, id := range text {
					s.text(id)
				}
				s.text(394)
				b.state(s, e.obs[:10])
				for t := 0; t < 24; t++ {
					b.predictAction(s, e.act[t:t+1])
					b.action(s, e.act[t:t+1])
					b.predictState(s, e.obs[(t+1)*10:(t+2)*10], e.obs[t*10:(t+1)*10], before(e.obs, t, 10))
					b.state(s, e.obs[(t+1)*10:(t+2)*10])
				}
			case lm.RolloutToGoal:
				s.text(1)
				s.text(396)
				b.state(s, e.obs[:10])
				for t := 0; t < 24; t++ {
					b.action(s, e.act[t:t+1])
					b.state(s, e.obs[(t+1)*10:(t+2)*10])
				}
				s.text(394)
				for _, id := range text {
					b.predictText(s, id)
					s.text(id)
				}
				b.predictText(s, 2)
			case lm.Dynamics:
				b.dynamics(s, e.obs[:10], e.obs[:10], e.act[:1], e.obs[10:20])
			case lm.Consequence:
				// BOS CON s0 goal SEP: 16 positions padded to 24 by a longer goal.
				long := append(append([]int32(nil), text...), text[:8]...)
				b.consequence(s, e.obs[:10], e.obs[240:250], long)
			}
		}
		var bt Batch
		b.lay(&bt, seqs)
		out[task] = &bt
	}
	return b, out
}

// BenchmarkGroundStep is one grounding optimiser step (forward and backward
// of the four task micro-batches, gradient clipping, AdamW) on one
// goroutine; it reports tokens/s (every non-pad position) and GFLOP/s.
func BenchmarkGroundStep(b *testing.B) { benchGroundStep(b, benchShape) }

// BenchmarkGroundStepSlots is BenchmarkGroundStep with state_slots 5 (the
// state head an interaction network over five slots of two numbers, width
// 2·dim): what quick's setting costs.
func BenchmarkGroundStepSlots(b *testing.B) {
	s := benchShape
	s.Slots, s.SlotHidden = 5, 2*s.Dim
	benchGroundStep(b, s)
}

func benchGroundStep(b *testing.B, shape Shape) {
	rng := rand.New(rand.NewPCG(1, 1))
	m, err := NewModel(shape, rng)
	if err != nil {
		b.Fatal(err)
	}
	_, batches := benchBatches(rng)
	opt := nn.NewAdam(nn.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01, Decoupled: true}, m.Params()...)
	tokens := 0
	for _, bt := range batches {
		tokens += sumLens(bt.Lens)
	}
	step := func() {
		for _, task := range lm.Tasks {
			m.Step(batches[task], 1, true)
		}
		nn.ClipGradNorm(1, m.Params()...)
		opt.Step()
		nn.ZeroGrad(m.Params()...)
	}
	step()
	f0 := nn.ProductFLOPs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		step()
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(tokens*b.N)/el, "tokens/s")
	b.ReportMetric(float64(nn.ProductFLOPs()-f0)/el/1e9, "GFLOP/s")
	b.ReportMetric(float64(m.NumParams()), "params")
}

// BenchmarkGenerate decodes 128 rollouts of 20 steps (an action slot and a
// state slot each) after a prompt of 16 positions, with the key/value cache;
// it reports rollouts/s.
func BenchmarkGenerate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	m, err := NewModel(benchShape, rng)
	if err != nil {
		b.Fatal(err)
	}
	m.hold() // as the plugin's loaded models
	const rows, steps = 128, 20
	prompts := make([][]input, rows)
	for i := range prompts {
		p := textInputs(1, 395)
		for k := 0; k < benchGoal; k++ {
			p = append(p, input{kind: kindText, id: int32(3 + rng.IntN(380))})
		}
		p = append(p, input{kind: kindText, id: 394})
		s0 := make([]float32, 10)
		for j := range s0 {
			s0[j] = rng.Float32()
		}
		prompts[i] = append(p, input{kind: kindState, vec: s0})
	}
	seqs := make([]int, rows)
	for i := range seqs {
		seqs[i] = i
	}
	var d *decoder
	last := make([][]float32, rows) // each row's state, which the state head changes
	var bases []float32
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		d = d.reuse(m, rows) // as the plugin does between calls
		h := d.prefill(prompts)
		for r := range rows {
			last[r] = prompts[r][len(prompts[r])-1].vec
		}
		for t := 0; t < steps; t++ {
			logits := head(m.ActOut, h)
			in := make([]input, rows)
			for r := range rows {
				in[r] = input{kind: kindAction, id: int32(pick(logits.Row(r), 0, nil))}
			}
			hs := d.feed(seqs, in)
			bases = bases[:0]
			for r := range rows {
				bases = append(bases, last[r]...)
			}
			y := m.stateOut(hs, bases)
			for r := range rows {
				in[r] = input{kind: kindState, vec: y.Row(r)}
				last[r] = y.Row(r)
			}
			hf := d.feed(seqs, in)
			h = nn.Mat{Rows: hf.Rows, Cols: hf.Cols, Data: append(h.Data[:0], hf.Data...)}
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(rows*b.N)/el, "rollouts/s")
}
