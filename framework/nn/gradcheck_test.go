package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gradCheck compares the analytic gradients of loss = Σ c·f(x) with central
// finite differences, for every parameter element and input element given.
// run evaluates f and returns its output; back computes gradients from dy
// (returning dL/dx, or an empty Mat when the input is not differentiable).
type gradCase struct {
	name   string
	x      []float32 // input (perturbed in place), may be nil
	params []*Param
	run    func() Mat
	back   func(dy Mat) Mat
}

func checkGrad(t *testing.T, c gradCase) {
	t.Helper()
	checkGradStep(t, c, 1e-2)
}

// checkGradStep is checkGrad with central differences of step h: a smaller
// one for networks whose many ReLUs a step of 1e-2 would cross.
func checkGradStep(t *testing.T, c gradCase, h float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	y := c.run()
	coef := make([]float32, len(y.Data))
	for i := range coef {
		coef[i] = float32(rng.NormFloat64())
	}
	loss := func() float64 {
		y := c.run()
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(coef[i])
		}
		return s
	}
	ZeroGrad(c.params...)
	y = c.run()
	dy := NewMat(y.Rows, y.Cols)
	copy(dy.Data, coef)
	dxm := c.back(dy)
	var dx []float32
	if c.x != nil {
		dx = append([]float32(nil), dxm.Data...)
	}
	cmp := func(what string, v []float32, i int, analytic float32) {
		old := v[i]
		v[i] = old + float32(h)
		lp := loss()
		v[i] = old - float32(h)
		lm := loss()
		v[i] = old
		num := (lp - lm) / (2 * h)
		if d := math.Abs(num - float64(analytic)); d > 2e-2*math.Max(1, math.Abs(num)) {
			t.Errorf("%s: %s[%d]: analytic %.6g, numeric %.6g", c.name, what, i, analytic, num)
		}
	}
	for _, p := range c.params {
		g := append([]float32(nil), p.Grad...)
		for i := range p.Value {
			cmp(p.Name, p.Value, i, g[i])
		}
	}
	for i := range c.x {
		cmp("x", c.x, i, dx[i])
	}
}

func randMat(rng *rand.Rand, r, c int) Mat {
	m := NewMat(r, c)
	Normal(rng, m.Data, 1)
	return m
}

func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, act := range []Activation{Identity, ReLU, Tanh} {
		l := NewLinear(rng, "lin", 4, 3, act)
		x := randMat(rng, 5, 4)
		checkGrad(t, gradCase{"linear/" + act.String(), x.Data, l.Params(),
			func() Mat { return l.Forward(x) },
			func(dy Mat) Mat { return l.Backward(dy, true, true) }})
	}
	m := NewMLP(rng, "", []int{3, 6, 5, 2}, ReLU, Tanh)
	xm := randMat(rng, 4, 3)
	checkGrad(t, gradCase{"mlp", xm.Data, m.Params(),
		func() Mat { return m.Forward(xm) },
		func(dy Mat) Mat { return m.Backward(dy, true, true) }})

	ln := NewLayerNorm("ln", 5)
	Normal(rng, ln.Gain.Value, 1)
	Normal(rng, ln.Bias.Value, 1)
	xl := randMat(rng, 3, 5)
	checkGrad(t, gradCase{"layernorm", xl.Data, ln.Params(),
		func() Mat { return ln.Forward(xl) },
		func(dy Mat) Mat { return ln.Backward(dy) }})

	e := NewEmbedding(rng, "emb", 6, 3)
	ids := []int32{0, 5, 2, 5}
	checkGrad(t, gradCase{"embedding", nil, e.Params(),
		func() Mat { return e.Forward(ids) },
		func(dy Mat) Mat { e.Backward(dy); return Mat{} }})

	for _, fn := range []Activation{ReLU, Tanh} {
		a := &Act{Fn: fn}
		xa := randMat(rng, 3, 4)
		checkGrad(t, gradCase{"act/" + fn.String(), xa.Data, nil,
			func() Mat { return a.Forward(xa) },
			func(dy Mat) Mat { return a.Backward(dy) }})
	}

	d := &Dropout{P: 0.3, Train: true}
	xd := randMat(rng, 3, 4)
	checkGrad(t, gradCase{"dropout", xd.Data, nil,
		func() Mat { d.Rng = rand.New(rand.NewPCG(3, 3)); return d.Forward(xd) },
		func(dy Mat) Mat { return d.Backward(dy) }})

	xs := randMat(rng, 3, 4)
	ys := NewMat(3, 4)
	checkGrad(t, gradCase{"softmax", xs.Data, nil,
		func() Mat { SoftmaxRows(ys, xs); return ys },
		func(dy Mat) Mat { SoftmaxRowsBackward(ys, dy); return dy }})

	// batched product c = a·bᵀ, gradient with respect to a.
	a, b := randMat(rng, 3, 4), randMat(rng, 2, 4)
	c := NewMat(3, 2)
	checkGrad(t, gradCase{"gemm", a.Data, nil,
		func() Mat { BatchGemm(false, true, 1, []Mat{a}, []Mat{b}, 0, []Mat{c}); return c },
		func(dy Mat) Mat { da := NewMat(3, 4); Gemm(false, false, 1, dy, b, 0, da); return da }})
}

// lossCheck compares a loss's gradient with finite differences of its value.
func TestLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	pred := randMat(rng, 6, 5)
	target := randMat(rng, 6, 5)
	labels := []int32{0, 4, 2, 2, 1, 3}
	cases := []struct {
		name string
		f    func(g []float32) float64
	}{
		{"cross_entropy", func(g []float32) float64 { return CrossEntropy(pred, labels, Mat{6, 5, g}, 1) }},
		{"mean_square", func(g []float32) float64 { return MeanSquare(pred, Mat{6, 5, g}, 1) }},
		{"mse", func(g []float32) float64 { return MSE(pred.Data, target.Data, g, 1) }},
		{"huber", func(g []float32) float64 { return Huber(pred.Data, target.Data, g, 1, 1) }},
		{"expectile", func(g []float32) float64 { return Expectile(pred.Data, target.Data, g, 0.7, 1) }},
	}
	for _, c := range cases {
		g := make([]float32, 30)
		c.f(g)
		scratch := make([]float32, 30)
		for i := range pred.Data {
			old := pred.Data[i]
			const h = 1e-2
			pred.Data[i] = old + h
			lp := c.f(scratch)
			pred.Data[i] = old - h
			lm := c.f(scratch)
			pred.Data[i] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(g[i])) > 1e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: analytic %.6g numeric %.6g", c.name, i, g[i], num)
			}
		}
	}
}

func TestAdamMatchesTorchFormula(t *testing.T) {
	// One parameter, two steps, checked against torch.optim.Adam by hand:
	// step 1 moves by lr·sign(g) (bias-corrected m/√v = g/|g|).
	p := &Param{Name: "p", Value: []float32{1, -2}, Grad: []float32{0.5, -3}}
	a := NewAdam(DefaultAdam(0.1), p)
	a.Step()
	want := []float32{0.9, -1.9}
	for i := range want {
		if math.Abs(float64(p.Value[i]-want[i])) > 1e-6 {
			t.Fatalf("step 1: %v, want %v", p.Value, want)
		}
	}
	// AdamW decays before the update.
	q := &Param{Name: "q", Value: []float32{1}, Grad: []float32{0}}
	w := NewAdam(AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5, Decoupled: true}, q)
	w.Step()
	if math.Abs(float64(q.Value[0])-0.95) > 1e-6 {
		t.Fatalf("adamw: %v, want 0.95", q.Value[0])
	}
}

func TestClipAndCosine(t *testing.T) {
	p := &Param{Value: make([]float32, 2), Grad: []float32{3, 4}}
	if n := ClipGradNorm(1, p); n != 5 || math.Abs(float64(p.Grad[0])-0.6) > 1e-6 {
		t.Fatalf("clip: norm %v grad %v", n, p.Grad)
	}
	c := Cosine{Base: 1, T: 10}
	for _, tc := range []struct {
		t    int
		want float64
	}{{0, 1}, {5, 0.5}, {10, 0}, {20, 0}} {
		if got := c.At(tc.t); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("cosine(%d) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

func TestMLPTrainingStepDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m := NewMLP(rng, "", []int{10, 64, 64, 4}, ReLU, Identity)
	opt := NewAdam(DefaultAdam(1e-3), m.Flat())
	x := randMat(rng, 32, 10)
	labels := make([]int32, 32)
	dy := NewMat(32, 4)
	step := func() {
		m.ZeroGrad()
		y := m.Forward(x)
		clear(dy.Data)
		CrossEntropy(y, labels, dy, 1)
		m.Backward(dy, true, false)
		opt.Step()
	}
	step()
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Fatalf("%v allocations per step, want 0", n)
	}
}

// TestForwardGather checks the gathered forward against the full one.
func TestForwardGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, act := range []Activation{Identity, ReLU, Tanh} {
		m := NewMLP(rng, "q/", []int{7, 33, 40}, ReLU, act)
		x := randMat(rng, 13, 7)
		cols := make([]int32, 13)
		for i := range cols {
			cols[i] = int32(rng.IntN(40))
		}
		got := make([]float32, 13)
		m.ForwardGather(x, cols, got)
		full := m.Forward(x)
		for i, c := range cols {
			if d := math.Abs(float64(got[i] - full.Data[i*40+int(c)])); d > 1e-5 {
				t.Fatalf("%v: row %d col %d: %v, want %v", act, i, c, got[i], full.Data[i*40+int(c)])
			}
		}
	}
}

// TestBackwardPrefix checks that back-propagating dy through the first rows
// of a larger Forward gives the gradients of a Forward on those rows alone:
// bit for bit with the packed kernels (each row of a product is computed
// alone), within rounding with OpenBLAS or gonum, whose blocking depends on
// the row count.
func TestBackwardPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, act := range []Activation{Identity, Tanh} {
		m := NewMLP(rng, "q/", []int{7, 33, 40, 5}, ReLU, act)
		x := randMat(rng, 29, 7)
		dy := randMat(rng, 13, 5)
		run := func(rows int) ([]float32, []float32) {
			m.ZeroGrad()
			m.Forward(View(x.Data[:rows*7], rows, 7))
			d := View(append([]float32(nil), dy.Data...), 13, 5)
			dx := m.Backward(d, true, true)
			return append([]float32(nil), m.Flat().Grad...), append([]float32(nil), dx.Data...)
		}
		g1, dx1 := run(13)
		g2, dx2 := run(29)
		same := func(a, b float32) bool {
			if usePacked {
				return math.Float32bits(a) == math.Float32bits(b)
			}
			return math.Abs(float64(a-b)) <= 1e-5*math.Max(1, math.Abs(float64(a)))
		}
		for i := range g1 {
			if !same(g1[i], g2[i]) {
				t.Fatalf("%v: grad[%d] = %v through 29 rows, %v through 13", act, i, g2[i], g1[i])
			}
		}
		for i := range dx1 {
			if !same(dx1[i], dx2[i]) {
				t.Fatalf("%v: dx[%d] = %v through 29 rows, %v through 13", act, i, dx2[i], dx1[i])
			}
		}
	}
}

// TestHold checks that Forward and Backward on held (prepacked) weights
// give bit for bit the results of packing on every call, for layers whose
// products span more than one K block, and that Release reads the weights
// afresh.
func TestHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct {
		dims      []int
		out       Activation
		inputGrad bool
	}{
		{[]int{7, 300, 40, 1}, Identity, false},
		{[]int{23, 64, 270, 9}, Tanh, true},
		{[]int{5, 33, 1}, Identity, true},
	} {
		m := NewMLP(rng, "h/", tc.dims, ReLU, tc.out)
		x := randMat(rng, 37, tc.dims[0])
		dy := randMat(rng, 37, tc.dims[len(tc.dims)-1])
		run := func() (y, g, dx []float32) {
			m.ZeroGrad()
			y = append(y, m.Forward(x).Data...)
			d := View(append([]float32(nil), dy.Data...), dy.Rows, dy.Cols)
			dx = append(dx, m.Backward(d, true, tc.inputGrad).Data...)
			return y, append(g, m.Flat().Grad...), dx
		}
		y1, g1, dx1 := run()
		m.Hold()
		y2, g2, dx2 := run()
		m.Release()
		for name, p := range map[string][2][]float32{"y": {y1, y2}, "grad": {g1, g2}, "dx": {dx1, dx2}} {
			for i := range p[0] {
				if math.Float32bits(p[0][i]) != math.Float32bits(p[1][i]) {
					t.Fatalf("%v: held %s[%d] = %v, want %v", tc.dims, name, i, p[1][i], p[0][i])
				}
			}
		}
		m.Hold()
		m.Release()
		Normal(rng, m.Flat().Value, 0.1)
		y3, _, _ := run()
		fresh := NewMLP(rng, "f/", tc.dims, ReLU, tc.out)
		CopyParams(fresh.Params(), m.Params())
		want := fresh.Forward(x).Data
		for i := range want {
			if y3[i] != want[i] {
				t.Fatalf("%v: after Release y[%d] = %v, want %v (stale packing?)", tc.dims, i, y3[i], want[i])
			}
		}
	}
}

// TestTrack checks that a tracking target network (MLP.Track) gives bit
// for bit the forward results and, after Untrack, the weights of one
// averaged by Polyak on its Flat params, whether its source is held (its
// packing is read) or not (it is packed for the purpose), for layers of
// more than one K block, partial panels and 1-wide heads; and that
// Backward through it panics.
func TestTrack(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, dims := range [][]int{{7, 300, 40, 1}, {23, 64, 270, 9}, {5, 33, 1}, {17, 256, 256, 6}} {
		src := NewMLP(rng, "s/", dims, ReLU, Tanh)
		tracked := NewMLP(rng, "t/", dims, ReLU, Tanh)
		plain := NewMLP(rng, "p/", dims, ReLU, Tanh)
		CopyParams(plain.Params(), tracked.Params())
		x := randMat(rng, 29, dims[0])
		tracked.Track()
		tracked.Track()
		for round := range 6 {
			src.Flat().Value[round*7] += 0.5 // a change the next averaging must see
			Normal(rng, src.Flat().Value[len(src.Flat().Value)/2:], 0.3)
			held := round%2 == 1
			if held {
				src.Hold()
			}
			tracked.PolyakFrom(src, 0.3)
			src.Release()
			Polyak(plain.Flat(), src.Flat(), 0.3)
			y1 := append([]float32(nil), tracked.Forward(x).Data...)
			y2 := plain.Forward(x).Data
			for i := range y2 {
				if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) {
					t.Fatalf("%v round %d (held source %v): tracking y[%d] = %v, want %v", dims, round, held, i, y1[i], y2[i])
				}
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v: Backward through a tracking network did not panic", dims)
				}
			}()
			tracked.Backward(randMat(rng, 29, dims[len(dims)-1]), true, true)
		}()
		tracked.Untrack()
		for i, v := range plain.Flat().Value {
			if w := tracked.Flat().Value[i]; math.Float32bits(w) != math.Float32bits(v) {
				t.Fatalf("%v: after Untrack value[%d] = %v, want %v", dims, i, w, v)
			}
		}
	}
}

// TestZeroGradDeferred checks MLP.ZeroGrad's deferred clearing against
// clearing at once (the free ZeroGrad on the flat parameters), bit for bit:
// gradients written by the next backward, accumulated by later ones, and
// read as zeros by the optimiser, ClipGradNorm and Settle when no backward
// came first.
func TestZeroGradDeferred(t *testing.T) {
	type net struct {
		m   *MLP
		opt *Adam
	}
	for _, tc := range []struct {
		name string
		// step runs one training step on n after zero cleared its gradients.
		step func(n net, zero func(), x, dy Mat) (norm float64)
	}{
		{"backward", func(n net, zero func(), x, dy Mat) float64 {
			zero()
			n.m.Forward(x)
			n.m.Backward(dy, true, false)
			return 0
		}},
		{"two backwards accumulate", func(n net, zero func(), x, dy Mat) float64 {
			zero()
			for range 2 {
				n.m.Forward(x)
				n.m.Backward(View(append([]float32(nil), dy.Data...), dy.Rows, dy.Cols), true, false)
			}
			return 0
		}},
		{"first rows only", func(n net, zero func(), x, dy Mat) float64 {
			zero()
			n.m.Forward(x)
			n.m.Backward(View(dy.Data[:5*dy.Cols], 5, dy.Cols), true, true)
			return 0
		}},
		{"no backward", func(n net, zero func(), x, dy Mat) float64 {
			zero()
			return 0
		}},
		{"input gradient only, clipped", func(n net, zero func(), x, dy Mat) float64 {
			zero()
			n.m.Forward(x)
			n.m.Backward(dy, false, true)
			return ClipGradNorm(0.5, n.m.Flat())
		}},
	} {
		// A 3-wide head goes through the tile kernels, a 1-wide one through
		// the vector products.
		for _, dims := range [][]int{{6, 40, 33, 3}, {6, 40, 1}} {
			t.Run(fmt.Sprint(tc.name, dims), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 9))
				a := net{m: NewMLP(rng, "a/", dims, ReLU, Tanh)}
				b := net{m: NewMLP(rng, "b/", dims, ReLU, Tanh)}
				CopyParams(b.m.Params(), a.m.Params())
				a.opt = NewAdam(DefaultAdam(0.01), a.m.Flat())
				b.opt = NewAdam(DefaultAdam(0.01), b.m.Flat())
				x, dy := randMat(rng, 11, dims[0]), randMat(rng, 11, dims[len(dims)-1])
				for _, n := range []net{a, b} { // stale gradients for ZeroGrad to clear
					n.m.Forward(x)
					n.m.Backward(View(append([]float32(nil), dy.Data...), dy.Rows, dy.Cols), true, false)
				}
				for i := range a.m.Flat().Grad { // which a product writing them must not read
					if i%3 == 0 {
						a.m.Flat().Grad[i] = float32(math.NaN())
					}
				}
				for step := range 3 {
					na := tc.step(a, a.m.ZeroGrad, x, View(append([]float32(nil), dy.Data...), dy.Rows, dy.Cols))
					nb := tc.step(b, func() { ZeroGrad(b.m.Flat()) }, x, View(append([]float32(nil), dy.Data...), dy.Rows, dy.Cols))
					if na != nb {
						t.Fatalf("step %d: gradient norm %v, want %v", step, na, nb)
					}
					a.opt.Step()
					b.opt.Step()
					a.m.Settle()
					for name, p := range map[string][2][]float32{"value": {a.m.Flat().Value, b.m.Flat().Value}, "grad": {a.m.Flat().Grad, b.m.Flat().Grad}} {
						for i := range p[1] {
							if math.Float32bits(p[0][i]) != math.Float32bits(p[1][i]) {
								t.Fatalf("step %d: %s[%d] = %v, want %v", step, name, i, p[0][i], p[1][i])
							}
						}
					}
				}
			})
		}
	}
}

func TestInteractionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ctxDim := range []int{0, 3} {
		n, err := NewInteraction(rng, "in.", 3, 2, ctxDim, 5, 2)
		if err != nil {
			t.Fatal(err)
		}
		ctx := randMat(rng, 4, ctxDim)
		state := randMat(rng, 4, 6)
		var x []float32
		if ctxDim > 0 {
			x = ctx.Data
		}
		checkGradStep(t, gradCase{fmt.Sprintf("interaction/ctx%d", ctxDim), x, n.Params(),
			func() Mat { return n.Forward(ctx, state) },
			func(dy Mat) Mat { return n.Backward(dy) }}, 1e-3)
	}
	if _, err := NewInteraction(rng, "bad.", 1, 2, 0, 4, 2); err == nil {
		t.Error("an interaction network over one slot was accepted")
	}
}

func TestPairsGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p, err := NewPairs(rng, "pairs.", 3, 2, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	state := randMat(rng, 4, 6)
	checkGradStep(t, gradCase{"pairs", nil, p.Params(),
		func() Mat { return p.Forward(state) },
		func(dy Mat) Mat { p.Backward(dy); return Mat{} }}, 1e-3)
	if _, err := NewPairs(rng, "bad.", 1, 2, 4, 2); err == nil {
		t.Error("a pair encoder over one slot was accepted")
	}
}
