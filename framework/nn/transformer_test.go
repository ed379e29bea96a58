package nn

import (
	"fmt"
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
