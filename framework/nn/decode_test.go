package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBlockStepMatchesForward decodes sequences of different lengths one
// position at a time, the sequences advancing out of step, and compares every
// output with a full forward pass over the padded batch.
// Head widths 4 (portable loops), 32 (the vector kernels' 32-column path)
// and 24 (8-column path), with sequences of up to 19 keys (eight at a time
// and a tail), and 150 positions (the cache grows twice, 64 → 128 → 150).
func TestBlockStepMatchesForward(t *testing.T) {
	for _, tc := range []struct{ dim, heads, T int }{{16, 4, 7}, {64, 2, 19}, {48, 2, 11}, {16, 2, 150}} {
		testBlockStep(t, tc.dim, tc.heads, tc.T)
	}
}

func testBlockStep(t *testing.T, dim, heads, T int) {
	rng := rand.New(rand.NewPCG(3, 9))
	blk, err := NewBlock(rng, "", dim, heads, 0)
	if err != nil {
		t.Fatal(err)
	}
	blk.InitGPT2(rng, 2)
	lens := []int{T, T - 3, T - 1}
	x := randMat(rng, len(lens)*T, dim)
	full := blk.Forward(x, T, lens)
	want := append([]float32(nil), full.Data...)

	c := blk.NewKVCache(len(lens), T)
	// Sequence s starts s ticks late, so rows sit at different positions.
	for tick := 0; tick < T+len(lens); tick++ {
		var seqs []int
		var in []float32
		for s, L := range lens {
			if p := tick - s; p >= 0 && p < L {
				seqs = append(seqs, s)
				in = append(in, x.Row(s*T+p)...)
			}
		}
		if len(seqs) == 0 {
			continue
		}
		y := blk.Step(View(in, len(seqs), dim), seqs, c)
		for i, s := range seqs {
			p := c.Len[s] - 1
			w := want[(s*T+p)*dim : (s*T+p+1)*dim]
			for j, v := range y.Row(i) {
				if d := math.Abs(float64(v - w[j])); d > 1e-5 {
					t.Fatalf("dim %d heads %d: sequence %d position %d dim %d: step %g, forward %g", dim, heads, s, p, j, v, w[j])
				}
			}
		}
	}
	for s, L := range lens {
		if c.Len[s] != L {
			t.Fatalf("sequence %d consumed %d positions, want %d", s, c.Len[s], L)
		}
	}
}

// TestBlockHoldSameBits: a held block (weights packed once) steps to the
// same bits as one packing per call, and Release reads changed weights.
func TestBlockHoldSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const dim, heads, rows, T = 64, 2, 13, 5
	blk, err := NewBlock(rng, "", dim, heads, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := randMat(rng, rows*T, dim)
	seqs := make([]int, rows)
	for i := range seqs {
		seqs[i] = i
	}
	run := func() []float32 {
		c := blk.NewKVCache(rows, T)
		var out []float32
		for p := range T {
			in := make([]float32, 0, rows*dim)
			for s := range rows {
				in = append(in, x.Row(s*T+p)...)
			}
			out = append(out, blk.Step(View(in, rows, dim), seqs, c).Data...)
		}
		return out
	}
	want := run()
	blk.Hold()
	got := run()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("held [%d]: %v, unheld %v", i, got[i], want[i])
		}
	}
	blk.Release()
	blk.FC.W.Value[0] += 1
	if slices.Equal(run(), want) {
		t.Fatal("after Release, a changed weight changes nothing")
	}
}
