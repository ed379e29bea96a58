package nn

import "math/rand/v2"

// Activation is an element-wise function fused into a Linear layer.
type Activation int

const (
	Identity Activation = iota
	ReLU
	Tanh
)

func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case Tanh:
		return "tanh"
	}
	return "identity"
}

// Linear is y = act(x·Wᵀ + b) with W stored [Out, In].
type Linear struct {
	In, Out int
	Act     Activation
	W, B    *Param

	x  Mat       // input of the last Forward (a view of the caller's data)
	y  []float32 // output buffer
	dx []float32 // input-gradient buffer

	// While held, W packed once as op(B) for Forward (Wᵀ) and for the
	// input-gradient product (W); see MLP.Hold. While tracking, pwt alone
	// holds the weights, which W.Value holds again after untrack; see
	// MLP.Track.
	held, tracking bool
	pwt, pw        []float32

	// zeroPending: ZeroGrad was deferred (see deferZero); settleFn is
	// l.settle, made with the layer so that deferZero does not allocate.
	zeroPending bool
	settleFn    func()
}

// deferZero stands for clearing W.Grad and B.Grad: the next backward with
// parameter gradients writes them instead of adding, and a reader that
// comes first (through Param.settle) clears them.
func (l *Linear) deferZero() {
	l.zeroPending = true
	l.W.settle, l.B.settle = l.settleFn, l.settleFn
}

// settle clears the gradients if a deferred zeroing is pending.
func (l *Linear) settle() {
	if l.takeZero() {
		clear(l.W.Grad)
		clear(l.B.Grad)
	}
}

// takeZero ends a deferred zeroing and reports whether one was pending:
// the caller then clears or overwrites the gradients.
func (l *Linear) takeZero() bool {
	pending := l.zeroPending
	l.zeroPending = false
	l.W.settle, l.B.settle = nil, nil
	return pending
}

// hold packs W for the products of Forward and backward until release; on
// the BLAS backends it does nothing. A product that reads W in place (a
// 1-wide layer's: see sgemmFused) gets no packing.
func (l *Linear) hold() {
	if !usePacked || l.tracking {
		return
	}
	if l.Out > 1 {
		l.pwt = packAll(l.pwt, true, l.W.Value, l.In, l.Out, l.In)
	}
	if l.Out > 1 && l.In > 1 {
		l.pw = packAll(l.pw, false, l.W.Value, l.In, l.In, l.Out)
	}
	l.held = true
}

// Hold packs W once for a run of Forward (and Backward) calls, which would
// otherwise pack it on every call: a model decoding many positions with the
// same weights. The results are the same bit for bit. W must not change
// until Release. It does nothing on the BLAS backends.
func (l *Linear) Hold() { l.hold() }

// Release ends Hold: later calls read W afresh.
func (l *Linear) Release() { l.held = false }

// forwardPacked returns W packed for Forward while the layer is held or
// tracking, and nil otherwise.
func (l *Linear) forwardPacked() []float32 {
	if (l.held || l.tracking) && l.Out > 1 {
		return l.pwt
	}
	return nil
}

// backwardPacked returns W packed for the input-gradient product while the
// layer is held, and nil otherwise.
func (l *Linear) backwardPacked() []float32 {
	if l.held && l.Out > 1 && l.In > 1 {
		return l.pw
	}
	return nil
}

// canTrack reports whether Forward reads W through a packing that
// tracking can keep: the packed backends, and more than one output (a
// 1-wide layer's product reads W in place).
func (l *Linear) canTrack() bool { return usePacked && l.Out > 1 }

// track packs W for Forward and makes the packing the weights' only
// up-to-date copy (see MLP.Track).
func (l *Linear) track() {
	if l.tracking || !l.canTrack() {
		return
	}
	l.pwt = packAll(l.pwt, true, l.W.Value, l.In, l.Out, l.In)
	l.held, l.tracking = false, true
}

// untrack writes the packed weights back to W.Value and ends tracking.
func (l *Linear) untrack() {
	if !l.tracking {
		return
	}
	unpackT(l.W.Value, l.pwt, l.In, l.Out, l.In)
	l.tracking = false
}

// polyakFrom moves l's parameters towards src's, as Polyak does: on the
// packing while tracking (src's held packing, or src packed for the
// purpose), on W.Value otherwise. Packing only moves values, and padding
// is zero on both sides, so the results are the same bit for bit.
func (l *Linear) polyakFrom(src *Linear, tau float32) {
	polyakKernel(l.B.Value, src.B.Value[:len(l.B.Value)], tau)
	if !l.tracking {
		polyakKernel(l.W.Value, src.W.Value[:len(l.W.Value)], tau)
		return
	}
	if p := src.forwardPacked(); p != nil {
		polyakKernel(l.pwt, p[:len(l.pwt)], tau)
		return
	}
	bufs := getPackBufs()
	bufs.b = packAll(bufs.b, true, src.W.Value, src.In, src.Out, src.In)
	polyakKernel(l.pwt, bufs.b[:len(l.pwt)], tau)
	spareBufs.Store(bufs)
}

// NewLinear allocates a layer initialised as torch.nn.Linear.
func NewLinear(rng *rand.Rand, name string, in, out int, act Activation) *Linear {
	l := newLinear(newSlab(in*out+out), name, in, out, act)
	InitLinear(rng, l.W.Value, l.B.Value, in)
	return l
}

func newLinear(s *slab, name string, in, out int, act Activation) *Linear {
	l := &Linear{In: in, Out: out, Act: act, W: s.take(name+".weight", out, in), B: s.take(name+".bias", out)}
	l.settleFn = l.settle
	return l
}

// Params returns the weight and bias.
func (l *Linear) Params() []*Param { return []*Param{l.W, l.B} }

// Forward computes the output for a batch x (rows × In). The result is owned
// by the layer and valid until the next Forward.
func (l *Linear) Forward(x Mat) Mat {
	if x.Cols != l.In {
		panic("nn: Linear input width mismatch")
	}
	l.x = x
	l.y = Grow(l.y, x.Rows*l.Out)
	y := View(l.y, x.Rows, l.Out)
	gemmBias(false, true, 1, x, View(l.W.Value, l.Out, l.In), l.B.Value, l.Act == ReLU, y, l.forwardPacked())
	if l.Act == Tanh {
		tanhInPlace(y.Data)
	}
	return y
}

// Backward takes dL/dy for the last Forward, accumulates dL/dW and dL/db into
// the gradients when paramGrad is set (writes them, the first time after
// MLP.ZeroGrad), and returns dL/dx when inputGrad is set
// (an empty Mat otherwise). dy is overwritten. dy may have fewer rows than
// the last Forward: then it back-propagates through its first dy.Rows rows,
// as if the others had zero gradient.
func (l *Linear) Backward(dy Mat, paramGrad, inputGrad bool) Mat {
	return l.backward(dy, paramGrad, inputGrad, false, false)
}

// fedBy reports whether the last Forward's input was prev's last output.
func (l *Linear) fedBy(prev *Linear) bool {
	return len(l.x.Data) > 0 && len(prev.y) > 0 && &l.x.Data[0] == &prev.y[0]
}

// backward is Backward for an MLP: when pre is set, dy already carries this
// layer's ReLU′ (the layer above fused it into its input gradient); when
// maskDx is set, the input is a ReLU output and ReLU′ of the layer below is
// fused into the dx product.
func (l *Linear) backward(dy Mat, paramGrad, inputGrad, pre, maskDx bool) Mat {
	if dy.Rows > l.x.Rows || dy.Cols != l.Out {
		panic("nn: Linear backward shape mismatch")
	}
	// The first dy.Rows rows of the last Forward.
	x := View(l.x.Data[:dy.Rows*l.In], dy.Rows, l.In)
	y := l.y[:len(dy.Data)]
	switch l.Act {
	case ReLU:
		if pre {
			break
		}
		reluBackKernel(dy.Data, y)
	case Tanh:
		for i, v := range y {
			dy.Data[i] *= 1 - v*v
		}
	}
	if paramGrad {
		beta := float32(1)
		if l.takeZero() { // write the gradients instead of adding to zeros
			beta = 0
			clear(l.B.Grad)
		}
		Gemm(true, false, 1, dy, x, beta, View(l.W.Grad, l.Out, l.In))
		sumRows(l.B.Grad, dy)
	}
	if !inputGrad {
		return Mat{}
	}
	l.dx = Grow(l.dx, dy.Rows*l.In)
	dx := View(l.dx, dy.Rows, l.In)
	w := View(l.W.Value, l.Out, l.In)
	if maskDx {
		gemmMasked(false, false, dy, w, x, dx, l.backwardPacked())
	} else {
		gemm(false, false, 1, dy, w, 0, dx, l.backwardPacked())
	}
	return dx
}
