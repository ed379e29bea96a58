package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBlockGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	blk, err := NewBlock(rng, "", 8, 2, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range blk.Params() {
		Normal(rng, p.Value, 0.4)
	}
	blk.SetTrain(true)
	xb := randMat(rng, 2*5, 8)
	lens := []int{5, 3}
	checkGrad(t, gradCase{"block", xb.Data, blk.Params(),
		func() Mat {
			// The same dropout masks on every evaluation.
			blk.Drop1.Rng = rand.New(rand.NewPCG(1, 1))
			blk.Drop2.Rng = rand.New(rand.NewPCG(2, 2))
			return blk.Forward(xb, 5, lens)
		},
		func(dy Mat) Mat { return blk.Backward(dy) }})
}

func TestBlockMatchesTorch(t *testing.T) {
	for _, c := range loadTorchCases(t, "block.json") {
		b, err := NewBlock(rand.New(rand.NewPCG(1, 1)), "", c.Dim, c.Heads, 0)
		if err != nil {
			t.Fatal(err)
		}
		matchTorch(t, c, b.Params(),
			func(x Mat) Mat { return b.Forward(x, c.T, c.Lens) },
			func(dy Mat) Mat { return b.Backward(dy) })
	}
}

func TestBlockStepDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	const B, T, d = 3, 40, 16
	b, err := NewBlock(rng, "", d, 4, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	b.SetTrain(true)
	opt := NewAdam(DefaultAdam(1e-3), b.Flat())
	x := randMat(rng, B*T, d)
	dy := NewMat(B*T, d)
	lens := []int{T, 17, 33}
	step := func() {
		clear(b.Flat().Grad)
		y := b.Forward(x, T, lens)
		clear(dy.Data)
		MeanSquare(y, dy, 1)
		b.Backward(dy)
		opt.Step()
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("%v allocations per step, want 0", n)
	}
}

// BenchmarkBlock is one Forward+Backward of a block at a tinylm-like shape,
// reporting GFLOP/s over 3× the forward FLOPs (causal attention as a
// triangle).
func BenchmarkBlock(b *testing.B) {
	const B, T, d, h = 8, 64, 128, 4
	rng := rand.New(rand.NewPCG(1, 1))
	blk, err := NewBlock(rng, "", d, h, 0)
	if err != nil {
		b.Fatal(err)
	}
	x := randMat(rng, B*T, d)
	dy := randMat(rng, B*T, d) // Backward leaves it unchanged at dropout 0
	b.Run(fmt.Sprintf("B%d_T%d_D%d_H%d_%s", B, T, d, h, Backend()), func(b *testing.B) {
		blk.Forward(x, T, nil) // grow the buffers before b.Loop resets the counters
		blk.Backward(dy)
		b.ReportAllocs()
		for b.Loop() {
			blk.Forward(x, T, nil)
			blk.Backward(dy)
		}
		b.ReportMetric(3*float64(blk.FLOPs(B, T))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

func TestBlockFlatAndInitGPT2(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const d, layers = 64, 8
	b, err := NewBlock(rng, "h.0.", d, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range b.Params() {
		n += p.Len()
	}
	if n != b.Flat().Len() {
		t.Fatalf("parameters hold %d elements, Flat %d", n, b.Flat().Len())
	}
	if name := b.Params()[2].Name; name != "h.0.attn.c_attn.weight" {
		t.Errorf("QKV weight named %q, want h.0.attn.c_attn.weight", name)
	}
	b.InitGPT2(rng, layers)
	stdOf := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(len(x)))
	}
	resid := 0.02 / math.Sqrt(2*layers)
	for _, c := range []struct {
		p    *Param
		want float64
	}{{b.Attn.QKV.W, 0.02}, {b.FC.W, 0.02}, {b.Attn.Proj.W, resid}, {b.Proj.W, resid}} {
		if got := stdOf(c.p.Value); math.Abs(got-c.want) > 0.05*c.want {
			t.Errorf("%s: std %.4g, want %.4g", c.p.Name, got, c.want)
		}
	}
	for _, p := range []*Param{b.Attn.QKV.B, b.Attn.Proj.B, b.FC.B, b.Proj.B, b.LN1.Bias, b.LN2.Bias} {
		if stdOf(p.Value) != 0 {
			t.Errorf("%s: not zero after InitGPT2", p.Name)
		}
	}
	for _, v := range b.LN2.Gain.Value {
		if v != 1 {
			t.Fatalf("ln_2.weight: %v, want 1", v)
		}
	}
}
