package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestGELUMatchesFormula checks GELU's forward pass and derivative against
// float64 formulas on enough values (odd in number) for the vector kernels
// and their scalar tail.
func TestGELUMatchesFormula(t *testing.T) {
	var xs []float32
	for v := -8.0; v <= 8.0; v += 0.0173 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, -6, -2.5, -0.7, 0, 0.3, 1.1, 4)
	var g GELU
	x := Mat{1, len(xs), xs}
	y := g.Forward(x)
	dy := make([]float32, len(xs))
	for i := range dy {
		dy[i] = 1
	}
	d := g.Backward(Mat{1, len(xs), dy})
	c := math.Sqrt(2 / math.Pi)
	for i, v32 := range xs {
		v := float64(v32)
		th := math.Tanh(c * (v + 0.044715*v*v*v))
		if want := 0.5 * v * (1 + th); math.Abs(float64(y.Data[i])-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("gelu(%v) = %v, want %v", v, y.Data[i], want)
		}
		want := 0.5*(1+th) + 0.5*v*(1-th*th)*c*(1+3*0.044715*v*v)
		if math.Abs(float64(d.Data[i])-want) > 2e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("gelu′(%v) = %v, want %v", v, d.Data[i], want)
		}
	}
}

func newTestAttention(t *testing.T, rng *rand.Rand, dim, heads int) *Attention {
	t.Helper()
	a, err := NewAttention(rng, "attn", dim, heads)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGELUAndAttentionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var g GELU
	xg := randMat(rng, 3, 5)
	checkGrad(t, gradCase{"gelu", xg.Data, nil,
		func() Mat { return g.Forward(xg) },
		func(dy Mat) Mat { return g.Backward(dy) }})

	for _, c := range []struct {
		name          string
		b, t, d, h    int
		lens          []int
		normalWeights bool
	}{
		{"full", 2, 4, 6, 2, nil, true},
		{"one_head", 1, 5, 4, 1, nil, true},
		{"padded", 3, 4, 6, 3, []int{4, 2, 0}, true},
		{"blocks", 2, 37, 4, 2, []int{37, 33}, false}, // crosses attnBlock
	} {
		a := newTestAttention(t, rng, c.d, c.h)
		if c.normalWeights {
			// Larger weights than torch's init so the softmax is far from
			// uniform and the check exercises it.
			for _, p := range a.Params() {
				Normal(rng, p.Value, 0.5)
			}
		}
		x := randMat(rng, c.b*c.t, c.d)
		checkGrad(t, gradCase{"attention/" + c.name, x.Data, a.Params(),
			func() Mat { return a.Forward(x, c.t, c.lens) },
			func(dy Mat) Mat { return a.Backward(dy) }})
	}

}

// TestAttentionCausalAndPadding checks the masks directly: an output row
// depends on no later token and on no padding token, a padding row's output
// is Proj's bias, and a padded sequence gives the same valid rows as the same
// tokens run alone.
func TestAttentionCausalAndPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const T, d = 40, 8
	a := newTestAttention(t, rng, d, 2)
	x := randMat(rng, 2*T, d)
	lens := []int{T, 35}
	y0 := append([]float32(nil), a.Forward(x, T, lens).Data...)

	// Perturb token 36 of sequence 0 and the padding tokens of sequence 1.
	x2 := NewMat(2*T, d)
	copy(x2.Data, x.Data)
	for j := range d {
		x2.Data[36*d+j] += 1
		for tok := 35; tok < T; tok++ {
			x2.Data[(T+tok)*d+j] -= 2
		}
	}
	y1 := a.Forward(x2, T, lens)
	for r := range 2 * T {
		s, tok := r/T, r%T
		same := (s == 0 && tok < 36) || s == 1
		for j := range d {
			diff := y1.Data[r*d+j] != y0[r*d+j]
			if same == diff {
				t.Fatalf("row %d (seq %d, token %d) col %d: changed=%v, want %v", r, s, tok, j, diff, !same)
			}
		}
	}
	for tok := 35; tok < T; tok++ {
		for j := range d {
			if got, want := y0[(T+tok)*d+j], a.Proj.B.Value[j]; got != want {
				t.Fatalf("padding row %d col %d = %v, want the bias %v", tok, j, got, want)
			}
		}
	}
	alone := a.Forward(Mat{35, d, x.Data[T*d : (T+35)*d]}, 35, nil)
	for i, v := range alone.Data {
		if w := y0[T*d+i]; math.Abs(float64(v-w)) > 1e-6 {
			t.Fatalf("sequence 1 alone, element %d: %v, padded batch %v", i, v, w)
		}
	}
}

func TestAttentionRejectsBadConfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ dim, heads int }{{6, 4}, {8, 0}, {0, 2}, {8, -2}} {
		if _, err := NewAttention(rng, "a", c.dim, c.heads); err == nil {
			t.Errorf("NewAttention(dim %d, heads %d): no error", c.dim, c.heads)
		}
		if _, err := NewBlock(rng, "", c.dim, c.heads, 0); err == nil {
			t.Errorf("NewBlock(dim %d, heads %d): no error", c.dim, c.heads)
		}
	}
	for _, p := range []float64{-0.1, 1, math.NaN()} {
		if _, err := NewBlock(rng, "", 8, 2, p); err == nil {
			t.Errorf("NewBlock(dropout %v): no error", p)
		}
	}
}

// torchCase is one record of testdata/{attention,block}.json, written by
// testdata/gen_attention.py.
type torchCase struct {
	Name             string
	B, T, Dim, Heads int
	Lens             []int
	X, Coef, Out, DX []float32
	Params, Grads    map[string][]float32
}

func loadTorchCases(t *testing.T, file string) []torchCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []torchCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", file)
	}
	return f.Cases
}

// matchTorch runs forward and backward of a layer with the case's parameters
// and compares the output on valid rows, dL/dx and every parameter gradient
// with torch's to 1e-4 (relative above 1).
func matchTorch(t *testing.T, c torchCase, params []*Param, fwd func(x Mat) Mat, back func(dy Mat) Mat) {
	t.Helper()
	if len(params) != len(c.Params) {
		t.Fatalf("%s: %d parameters, fixture has %d", c.Name, len(params), len(c.Params))
	}
	for _, p := range params {
		v, ok := c.Params[p.Name]
		if !ok || len(v) != len(p.Value) {
			t.Fatalf("%s: fixture parameter %q missing or of length %d, want %d", c.Name, p.Name, len(v), len(p.Value))
		}
		copy(p.Value, v)
	}
	ZeroGrad(params...)
	rows := c.B * c.T
	x := Mat{rows, c.Dim, c.X}
	y := fwd(x)
	valid := func(r int) bool { return c.Lens == nil || r%c.T < c.Lens[r/c.T] }
	dy := NewMat(rows, c.Dim)
	for r := range rows {
		if !valid(r) {
			continue
		}
		for j := range c.Dim {
			i := r*c.Dim + j
			dy.Data[i] = c.Coef[i]
			if !close4(y.Data[i], c.Out[i]) {
				t.Errorf("%s: out[%d,%d] = %v, torch %v", c.Name, r, j, y.Data[i], c.Out[i])
			}
		}
	}
	dx := back(dy)
	compare := func(what string, got, want []float32) {
		bad := 0
		for i := range want {
			if !close4(got[i], want[i]) {
				if bad < 5 {
					t.Errorf("%s: %s[%d] = %v, torch %v", c.Name, what, i, got[i], want[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %s: %d of %d elements differ", c.Name, what, bad, len(want))
		}
	}
	compare("dx", dx.Data, c.DX)
	for _, p := range params {
		compare("grad "+p.Name, p.Grad, c.Grads[p.Name])
	}
}

func close4(got, want float32) bool {
	return math.Abs(float64(got-want)) <= 1e-4*math.Max(1, math.Abs(float64(want)))
}

func TestAttentionMatchesTorch(t *testing.T) {
	for _, c := range loadTorchCases(t, "attention.json") {
		a := newTestAttention(t, rand.New(rand.NewPCG(1, 1)), c.Dim, c.Heads)
		matchTorch(t, c, a.Params(),
			func(x Mat) Mat { return a.Forward(x, c.T, c.Lens) },
			func(dy Mat) Mat { return a.Backward(dy) })
	}
}
