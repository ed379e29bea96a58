package cql

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/nn"
)

// Continuous is CORL's CQL: SAC with a tanh-Gaussian actor, automatic
// entropy tuning and the importance-sampled conservative penalty; optionally
// with CORL's Lagrangian conservative weight, max-target backup and entropy
// backup.
type Continuous struct {
	Actor         *nn.MLP   // s → [mean, raw log-std]
	LogStdMult    *nn.Param // scalar, init 1
	LogStdOff     *nn.Param // scalar, init −1
	LogAlpha      *nn.Param // log of the entropy temperature, init log initial_temperature (0)
	C1, C2        *nn.MLP
	C1t, C2t      *nn.MLP
	AOpt, AlphaOp *nn.Adam
	COpt          *nn.Adam
	CQLAlpha      float32
	Gamma, Tau    float32
	Temp          float32
	TargetEnt     float32
	N             int // sampled actions per kind
	// Lagrange tunes α' = clamp(exp(LogAlphaPrime), 0, 1e6) with its own Adam
	// (APOpt) so that the conservative gap approaches Gap; the penalty weight
	// is then α'·CQLAlpha (CORL cql_lagrange).
	Lagrange      bool
	Gap           float32
	LogAlphaPrime *nn.Param // nil unless Lagrange
	APOpt         *nn.Adam  // nil unless Lagrange
	// MaxBackup takes the max over N samples of min(C1ₜ, C2ₜ)(s', a'), and
	// BackupEntropy subtracts α·log π(a'|s') from it (CORL
	// cql_max_target_backup, backup_entropy).
	MaxBackup, BackupEntropy bool
	// DeterministicBackup takes a' = tanh(mean(s')) for the target instead
	// of a sample (d3rlpy's default, soft_q_backup=False, which the KALM
	// paper's Meta-World CQL runs).
	DeterministicBackup bool
	// BCSteps is how many first updates train the actor by maximum
	// likelihood of the data's actions, α·log π(ã|s) − log π(a|s), instead
	// of the critics' value (CORL bc_steps; the CQL authors'
	// policy_eval_start). The critics learn throughout.
	BCSteps int
	// BCWeight adds BCWeight·mean Σⱼ (tanh μ(s)ⱼ − aⱼ)² to the actor's loss
	// after the BC warm-up: a pull of the deterministic action, the one
	// evaluated, towards the data's, as TD3+BC's actor has (without its
	// normalisation of Q). 0 leaves CORL's actor.
	BCWeight float32
	// Normal and Uniform fill buf with N(0,1) and U(−1,1) draws; tests may
	// replace them.
	Normal, Uniform func(buf []float32)

	a      int
	in     int
	nT     int // target samples in smp: n, or n·N with MaxBackup
	tq     []float32
	smp    sampler   // no-grad samples: a' at s', π(s) and π(s') repeated N times
	pol    sampler   // the policy-loss sample at s (with grad)
	both   []float32 // [s; s′]
	x, xt  []float32
	q1n    []float32
	y      []float32
	dq, ga []float32
	qp     []float32 // a critic's Q(s, a) on the data rows
	dbase  []float32
	bcm    []float32 // with BCSteps: d(−log π(a|s))/d mean, / n
	bcls   []float32 // and d/d log-std
	m      []float64
	mBC    int // index of the bc_mse metric in m (BCWeight > 0)
}

// sampler holds one batch of reparameterised tanh-Gaussian samples.
type sampler struct {
	eps, u, std, a, logp []float32
	ls                   []float32 // clamped log-std
	inside               []bool
	raw                  []float32
	sp                   []float32 // log1p(e^−2|u|), the tanh correction's softplus
}

func newContinuous(spec offline.Spec, h offline.Hyper, rng *rand.Rand) (*Continuous, error) {
	a, in := spec.Space.Dim, spec.InDim
	te := h.Float("target_entropy")
	if te == 0 {
		te = -float64(a)
	}
	l := &Continuous{CQLAlpha: float32(h.Float("alpha")), Gamma: float32(h.Float("discount")), Tau: float32(h.Float("tau")),
		Temp: float32(h.Float("temperature")), TargetEnt: float32(te), N: h.Int("n_actions"), a: a, in: in, m: make([]float64, 6),
		Lagrange: h.Bool("lagrange"), Gap: float32(h.Float("target_action_gap")),
		MaxBackup: h.Bool("max_target_backup"), BackupEntropy: h.Bool("backup_entropy"), BCSteps: h.Int("bc_steps"),
		DeterministicBackup: h.Bool("deterministic_backup"), BCWeight: float32(h.Float("bc_weight"))}
	if l.N < 1 {
		return nil, fmt.Errorf("cql: n_actions = %d, want ≥ 1", l.N)
	}
	if l.DeterministicBackup && (l.MaxBackup || l.BackupEntropy) {
		return nil, fmt.Errorf("cql: deterministic_backup with max_target_backup or backup_entropy: both need sampled a' ~ π(s'), want at most one of them")
	}
	if l.BCSteps < 0 {
		return nil, fmt.Errorf("cql: bc_steps = %d, want ≥ 0", l.BCSteps)
	}
	if l.BCWeight < 0 || math.IsNaN(float64(l.BCWeight)) {
		return nil, fmt.Errorf("cql: bc_weight = %v, want ≥ 0", h.Float("bc_weight"))
	}
	if l.Temp <= 0 {
		return nil, fmt.Errorf("cql: temperature = %v, want > 0", h.Float("temperature"))
	}
	apLR := h.Float("alpha_prime_lr")
	if apLR < 0 {
		return nil, fmt.Errorf("cql: alpha_prime_lr = %v, want ≥ 0 (0 means critic_lr)", apLR)
	}
	if apLR == 0 {
		apLR = h.Float("critic_lr")
	}
	scalar := func(name string, v float32) *nn.Param {
		return &nn.Param{Name: name, Shape: []int{}, Value: []float32{v}, Grad: []float32{0}}
	}
	l.Actor = nn.NewMLP(rng, "actor/base.", h.Dims(in, 2*a), nn.ReLU, nn.Identity)
	l.LogStdMult, l.LogStdOff = scalar("actor/log_std_mult", 1), scalar("actor/log_std_off", -1)
	l.C1 = nn.NewMLP(rng, "c1/net.", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	l.C2 = nn.NewMLP(rng, "c2/net.", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	l.C1t = nn.NewMLP(rng, "c1_t/net.", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	l.C2t = nn.NewMLP(rng, "c2_t/net.", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	nn.CopyParams(l.C1t.Params(), l.C1.Params())
	nn.CopyParams(l.C2t.Params(), l.C2.Params())
	t0 := h.Float("initial_temperature")
	if t0 <= 0 {
		return nil, fmt.Errorf("cql: initial_temperature = %v, want > 0", t0)
	}
	l.LogAlpha = scalar("log_alpha", float32(math.Log(t0)))
	l.AOpt = nn.NewAdam(nn.DefaultAdam(h.Float("actor_lr")), l.Actor.Flat(), l.LogStdMult, l.LogStdOff)
	l.AlphaOp = nn.NewAdam(nn.DefaultAdam(h.Float("actor_lr")), l.LogAlpha)
	l.COpt = nn.NewAdam(nn.DefaultAdam(h.Float("critic_lr")), l.C1.Flat(), l.C2.Flat())
	if l.Lagrange {
		l.LogAlphaPrime = scalar("log_alpha_prime", 1) // CORL: Scalar(1.0)
		l.APOpt = nn.NewAdam(nn.DefaultAdam(apLR), l.LogAlphaPrime)
		l.m = make([]float64, 7)
	}
	if l.BCWeight > 0 {
		l.mBC = len(l.m)
		l.m = append(l.m, 0)
	}
	l.Normal = func(buf []float32) {
		for i := range buf {
			buf[i] = float32(rng.NormFloat64())
		}
	}
	l.Uniform = func(buf []float32) {
		for i := range buf {
			buf[i] = float32(2*rng.Float64() - 1)
		}
	}
	return l, nil
}

func (l *Continuous) MetricNames() []string {
	names := []string{"policy_loss", "critic_loss", "alpha", "cql_gap", "q_mean", "entropy"}
	if l.Lagrange {
		names = append(names, "alpha_prime")
	}
	if l.BCWeight > 0 {
		names = append(names, "bc_mse")
	}
	return names
}

func (l *Continuous) State() []*nn.Param {
	s := append(l.Actor.Params(), l.LogStdMult, l.LogStdOff, l.LogAlpha)
	for _, m := range []*nn.MLP{l.C1, l.C2, l.C1t, l.C2t} {
		s = append(s, m.Params()...)
	}
	for _, o := range []*nn.Adam{l.AOpt, l.AlphaOp, l.COpt} {
		s = append(s, o.State()...)
	}
	if l.Lagrange {
		s = append(append(s, l.LogAlphaPrime), l.APOpt.State()...)
	}
	return s
}

func (l *Continuous) Counters() []*int {
	c := []*int{&l.AOpt.T, &l.AlphaOp.T, &l.COpt.T}
	if l.Lagrange {
		c = append(c, &l.APOpt.T)
	}
	return c
}

// sample draws tanh-Gaussian actions for the rows of obs into s.
func (l *Continuous) sample(obs nn.Mat, s *sampler, deterministic bool) {
	l.draw(l.Actor.Forward(obs), obs.Rows, func(r int) int { return r }, s, deterministic)
}

// draw fills s with rows tanh-Gaussian samples; row r takes its mean and
// log-std from row src(r) of the actor's output out, so a state repeated
// for several samples needs one actor row.
func (l *Continuous) draw(out nn.Mat, n int, src func(int) int, s *sampler, deterministic bool) {
	det := 0
	if deterministic {
		det = n
	}
	l.drawFrom(out, n, det, src, s)
}

// halfLog2Pi is ½·log 2π, the Gaussian log-density's constant.
const halfLog2Pi = 0.9189385332046727

// drawFrom is draw with the first det rows deterministic (tanh of the mean).
func (l *Continuous) drawFrom(out nn.Mat, n, det int, src func(int) int, s *sampler) {
	a := l.a
	g := func(p *[]float32) { *p = nn.Grow(*p, n*a) }
	g(&s.eps)
	g(&s.u)
	g(&s.std)
	g(&s.a)
	g(&s.ls)
	g(&s.raw)
	g(&s.sp)
	s.logp = nn.Grow(s.logp, n)
	if cap(s.inside) < n*a {
		s.inside = make([]bool, n*a)
	}
	s.inside = s.inside[:n*a]
	if det < n {
		l.Normal(s.eps)
	}
	clear(s.eps[:det*a])
	mult, off := l.LogStdMult.Value[0], l.LogStdOff.Value[0]
	// Element by element where it is cheap; the exponentials, tanh and
	// log1p in passes over all samples (nn.ExpTo and friends, bit for bit
	// the scalar functions).
	for i := range n {
		row := out.Row(src(i))
		for j := range a {
			k := i*a + j
			raw := row[a+j]
			ls := mult*raw + off
			s.inside[k] = ls >= -20 && ls <= 2
			s.raw[k], s.ls[k] = raw, max(-20, min(2, ls))
		}
	}
	nn.ExpTo(s.std, s.ls)
	for i := range n {
		row := out.Row(src(i))
		for j := range a {
			k := i*a + j
			u := row[j] + s.std[k]*s.eps[k]
			s.u[k], s.sp[k] = u, -2*max(u, -u)
		}
	}
	nn.TanhTo(s.a, s.u)
	nn.ExpTo(s.sp, s.sp)
	nn.Log1pTo(s.sp, s.sp)
	for i := range n {
		var lp float64
		for j := range a {
			k := i*a + j
			// log N(u; mean, std) − log|d tanh/du|, torch's stable form
			// 2(ln 2 − u − softplus(−2u)) = 2(ln 2 − |u| − log1p(e^−2|u|)).
			au := max(s.u[k], -s.u[k])
			lp += -0.5*float64(s.eps[k]*s.eps[k]) - float64(s.ls[k]) - halfLog2Pi -
				2*float64(math.Ln2-au-s.sp[k])
		}
		s.logp[i] = float32(lp)
	}
}

// Update is one CQL step.
func (l *Continuous) Update(b *offline.Batch) []float64 {
	n, a, in, N := b.N, l.a, l.in, l.N
	w := in + a

	// One actor forward on [s; s′] serves every sample: the no-grad ones,
	// a' ~ π(s') for the target (N per state with MaxBackup), then π(·|s) and
	// π(·|s') N times each for the penalty; and the policy-loss sample at s,
	// whose Backward runs through the first n rows.
	k := 1
	if l.MaxBackup {
		k = N
	}
	nT := n * k
	l.nT = nT
	rows := nT + 2*n*N
	out := l.Actor.Forward(b.BothObsMat(&l.both))
	det := 0
	if l.DeterministicBackup {
		det = nT
	}
	l.drawFrom(out, rows, det, func(r int) int {
		switch {
		case r < nT:
			return n + r/k
		case r < nT+n*N:
			return (r - nT) / N
		}
		return n + (r-nT-n*N)/N
	}, &l.smp)
	alpha := float32(math.Exp(float64(l.LogAlpha.Value[0])))

	// Target: y = r + γ(1−d)·(max_j min(C1ₜ, C2ₜ)(s', a'_j) [− α·log π(a'|s')]).
	l.xt = nn.Grow(l.xt, max(nT, n)*w)
	for r := range nT {
		copy(l.xt[r*w:], b.NextObs[r/k*in:(r/k+1)*in])
		copy(l.xt[r*w+in:], l.smp.a[r*a:(r+1)*a])
	}
	l.tq = nn.Grow(l.tq, nT)
	copy(l.tq, l.C1t.Forward(nn.View(l.xt, nT, w)).Data)
	t2 := l.C2t.Forward(nn.View(l.xt, nT, w))
	l.y = nn.Grow(l.y, n)
	for i := range n {
		best := i * k
		for r := i * k; r < (i+1)*k; r++ {
			l.tq[r] = min(l.tq[r], t2.Data[r])
			if l.tq[r] > l.tq[best] {
				best = r
			}
		}
		v := l.tq[best]
		if l.BackupEntropy {
			v -= alpha * l.smp.logp[best]
		}
		l.y[i] = b.Rew[i] + (1-b.Done[i])*l.Gamma*v
	}

	// Policy and temperature: L = mean(α·log π − min(C1, C2)(s, ã)), or
	// during the first BCSteps updates mean(α·log π(ã|s) − log π(a|s)).
	l.draw(out, n, func(r int) int { return r }, &l.pol, false)
	var polLoss, lpMean float64
	inv := 1 / float32(n)
	l.ga = nn.Grow(l.ga, n*a)
	if l.AOpt.T < l.BCSteps {
		for i := range n {
			polLoss += float64(alpha * l.pol.logp[i])
			lpMean += float64(l.pol.logp[i])
		}
		clear(l.ga)
		polLoss -= l.dataLogProb(out, b, inv)
		l.actorBackward(alpha*inv, true)
	} else {
		for i := range n {
			copy(l.xt[i*w:], b.Obs[i*in:(i+1)*in])
			copy(l.xt[i*w+in:], l.pol.a[i*a:(i+1)*a])
		}
		xp := nn.View(l.xt, n, w)
		l.q1n = nn.Grow(l.q1n, n)
		copy(l.q1n, l.C1.Forward(xp).Data)
		q2n := l.C2.Forward(xp)
		l.dq = nn.Grow(l.dq, 2*n)
		d1, d2 := l.dq[:n], l.dq[n:2*n]
		for i := range n {
			q := min(l.q1n[i], q2n.Data[i])
			polLoss += float64(alpha*l.pol.logp[i] - q)
			lpMean += float64(l.pol.logp[i])
			d1[i], d2[i] = 0, 0
			if l.q1n[i] <= q2n.Data[i] {
				d1[i] = -inv
			} else {
				d2[i] = -inv
			}
		}
		g2 := l.C2.Backward(nn.View(d2, n, 1), false, true)
		for i := range n {
			copy(l.ga[i*a:(i+1)*a], g2.Data[i*w+in:(i+1)*w])
		}
		g1 := l.C1.Backward(nn.View(d1, n, 1), false, true)
		for i := range n {
			for j := range a {
				l.ga[i*a+j] += g1.Data[i*w+in+j]
			}
		}
		if l.BCWeight > 0 {
			l.m[l.mBC] = l.bcPull(out, b, inv)
			polLoss += float64(l.BCWeight) * l.m[l.mBC] * float64(n)
		}
		l.actorBackward(alpha*inv, l.BCWeight > 0)
	}
	l.LogAlpha.Grad[0] = -float32(lpMean/float64(n)) - l.TargetEnt
	l.AOpt.Step()
	l.AlphaOp.Step()

	// Critics: MSE to y plus α·mean(logsumexp(candidates/T)·T − Q(s, a)).
	cand := 3 * N
	rows = n * (1 + cand)
	l.x = nn.Grow(l.x, rows*w)
	for i := range n {
		copy(l.x[i*w:], b.Obs[i*in:(i+1)*in])
		copy(l.x[i*w+in:], b.Act[i*a:(i+1)*a])
	}
	l.Uniform(l.smp.eps[:n*N*a]) // reuse: uniform actions
	curOff, nxtOff := nT, nT+n*N
	for i := range n {
		for r := range N {
			for kind := range 3 {
				row := n + (i*cand + kind*N + r)
				dst := l.x[row*w:]
				copy(dst, b.Obs[i*in:(i+1)*in])
				var act []float32
				switch kind {
				case 0:
					act = l.smp.eps[(i*N+r)*a:]
				case 1:
					act = l.smp.a[(nxtOff+i*N+r)*a:]
				case 2:
					act = l.smp.a[(curOff+i*N+r)*a:]
				}
				copy(dst[in:in+a], act[:a])
			}
		}
	}
	X := nn.View(l.x, rows, w)
	// Penalty weight: α, or α'·α with the Lagrangian (α' before its step,
	// as CORL).
	weight, gapT := l.CQLAlpha, float32(0)
	var ap float32
	var apInside bool
	if l.Lagrange {
		e := math.Exp(float64(l.LogAlphaPrime.Value[0]))
		ap, apInside = float32(min(e, 1e6)), e <= 1e6
		weight, gapT = ap*l.CQLAlpha, l.Gap
	}
	l.C1.ZeroGrad()
	l.C2.ZeroGrad()
	mse1, gap1, qm := l.critic(l.C1, X, b, n, cand, weight)
	mse2, gap2, _ := l.critic(l.C2, X, b, n, cand, weight)
	l.COpt.Step()
	nn.Polyak(l.C1t.Flat(), l.C1.Flat(), l.Tau)
	nn.Polyak(l.C2t.Flat(), l.C2.Flat(), l.Tau)
	if l.Lagrange {
		// CORL: loss = −½·(α'·α·(diff₁ − gap) + α'·α·(diff₂ − gap)); its
		// gradient in log α' is the loss itself (dα'/dlog α' = α') inside
		// the clamp, 0 outside.
		g := float32(0)
		if apInside {
			g = -0.5 * (ap*l.CQLAlpha*(float32(gap1)-gapT) + ap*l.CQLAlpha*(float32(gap2)-gapT))
		}
		l.LogAlphaPrime.Grad[0] = g
		l.APOpt.Step()
		l.m[6] = float64(ap)
	}

	l.m[0], l.m[1], l.m[2] = polLoss/float64(n), mse1+mse2+float64(weight)*(gap1+gap2-2*float64(gapT)), float64(alpha)
	l.m[3], l.m[4], l.m[5] = (gap1+gap2)/2, qm, -lpMean/float64(n)
	return l.m
}

// dataLogProb returns Σ log π(a|s) over the batch for the data's
// actions a, with the actor's output out (rows [s; s′]) and the policy
// sample's clamped log-stds, and stores the gradient of −inv·Σ log π(a|s) in
// the mean and log-std in l.bcm and l.bcls. Actions at ±1 are read as
// atanh of 1 ∓ 1e-6, as the CQL authors' rlkit atanh clamps 1 ± a at 1e-6.
func (l *Continuous) dataLogProb(out nn.Mat, b *offline.Batch, inv float32) float64 {
	s, n, a := &l.pol, b.N, l.a
	l.bcm = nn.Grow(l.bcm, n*a)
	l.bcls = nn.Grow(l.bcls, n*a)
	var sum float64
	for i := range n {
		row := out.Row(i)
		for j := range a {
			k := i*a + j
			x := float64(b.Act[k])
			u := 0.5 * math.Log(max(1+x, 1e-6)/max(1-x, 1e-6))
			std := float64(s.std[k])
			z := (u - float64(row[j])) / std
			au := math.Abs(u)
			sum += -0.5*z*z - float64(s.ls[k]) - halfLog2Pi - 2*(math.Ln2-au-math.Log1p(math.Exp(-2*au)))
			l.bcm[k] = float32(-z/std) * inv
			l.bcls[k] = float32(1-z*z) * inv
		}
	}
	return sum
}

// bcPull returns mean Σⱼ (tanh μ(s)ⱼ − aⱼ)² over the batch, with the
// actor's output out (rows [s; s′]), and stores the gradient of BCWeight
// times it in the mean, in l.bcm, and zero in the log-std, in l.bcls.
func (l *Continuous) bcPull(out nn.Mat, b *offline.Batch, inv float32) float64 {
	n, a := b.N, l.a
	l.bcm = nn.Grow(l.bcm, n*a)
	l.bcls = nn.Grow(l.bcls, n*a)
	clear(l.bcls)
	var sum float64
	for i := range n {
		row := out.Row(i)
		for j := range a {
			k := i*a + j
			t := float32(math.Tanh(float64(row[j])))
			d := t - b.Act[k]
			sum += float64(d * d)
			l.bcm[k] = 2 * l.BCWeight * inv * d * (1 - t*t)
		}
	}
	return sum / float64(n)
}

// actorBackward back-propagates the policy loss given dL/dã in l.ga and the
// entropy weight k = α/n of each log π(ã|s); with bc, plus the gradient in
// l.bcm and l.bcls (of −log π(a|s), stored by dataLogProb, or of the pull
// to the data's actions, by bcPull).
func (l *Continuous) actorBackward(k float32, bc bool) {
	s := &l.pol
	n, a := len(s.logp), l.a
	l.dbase = nn.Grow(l.dbase, n*2*a)
	nn.ZeroGrad(l.Actor.Flat(), l.LogStdMult, l.LogStdOff)
	var gMult, gOff float32
	for i := range n {
		for j := range a {
			idx := i*a + j
			t := s.a[idx]
			gu := l.ga[idx] * (1 - t*t)
			du := s.std[idx] * s.eps[idx] // du/dlogstd
			// d log π/du = 2·tanh(u); d log π/d logstd (direct) = −1.
			dmean := gu + k*2*t
			dls := gu*du + k*(-1+2*t*du)
			if bc {
				dmean += l.bcm[idx]
				dls += l.bcls[idx]
			}
			l.dbase[i*2*a+j] = dmean
			if s.inside[idx] {
				l.dbase[i*2*a+a+j] = dls * l.LogStdMult.Value[0]
				gMult += dls * s.raw[idx]
				gOff += dls
			} else {
				l.dbase[i*2*a+a+j] = 0
			}
		}
	}
	l.LogStdMult.Grad[0] += gMult
	l.LogStdOff.Grad[0] += gOff
	// The actor's last forward was on [s; s′]; the policy sample is its
	// first n rows.
	l.Actor.Backward(nn.View(l.dbase, n, 2*a), true, false)
}

// chunkStates is how many states' candidate rows (3N each) one forward and
// backward of a critic covers: a chunk's activations stay in L2 instead of
// streaming the whole n·3N-row batch through memory.
const chunkStates = 8

// critic accumulates the gradient of one critic's loss MSE + weight·gap; X
// holds n data rows then n×cand candidate rows. It returns the MSE, the mean
// gap logsumexp − Q(s, a) and the mean Q(s, a). The loss of a state couples
// only its own rows, so the critic runs on the data rows and then on
// chunks of chunkStates states, with its weights packed once.
func (l *Continuous) critic(c *nn.MLP, X nn.Mat, b *offline.Batch, n, cand int, weight float32) (float64, float64, float64) {
	c.Hold()
	defer c.Release()
	w := X.Cols
	inv := 1 / float32(n)
	l.dq = nn.Grow(l.dq, max(n, chunkStates*cand))
	l.qp = nn.Grow(l.qp, n)
	var mse, gap, qm float64

	q := c.Forward(nn.View(X.Data, n, w))
	d := l.dq[:n]
	qp := l.qp[:n]
	for i := range n {
		diff := q.Data[i] - l.y[i]
		mse += float64(diff * diff)
		qm += float64(q.Data[i])
		qp[i] = q.Data[i]
		d[i] = 2*inv*diff - weight*inv
	}
	c.Backward(nn.View(d, n, 1), true, false)

	N, a, nT := l.N, l.a, l.nT
	rd := float32(float64(a) * math.Log(0.5))
	var tmp [512]float32
	for i0 := 0; i0 < n; i0 += chunkStates {
		i1 := min(n, i0+chunkStates)
		rows := (i1 - i0) * cand
		q := c.Forward(nn.View(X.Data[(n+i0*cand)*w:], rows, w))
		d := l.dq[:rows]
		for i := i0; i < i1; i++ {
			row := q.Data[(i-i0)*cand : (i-i0+1)*cand]
			x := tmp[:cand]
			if cand > len(tmp) {
				x = make([]float32, cand)
			}
			for j := range cand {
				v := row[j]
				switch j / N {
				case 0:
					v -= rd
				case 1:
					v -= l.smp.logp[nT+n*N+i*N+j%N]
				case 2:
					v -= l.smp.logp[nT+i*N+j%N]
				}
				x[j] = v / l.Temp
			}
			dr := d[(i-i0)*cand : (i-i0+1)*cand]
			lse := nn.SoftmaxLSE(dr, x)
			gap += float64(lse*l.Temp - qp[i])
			for j := range cand {
				dr[j] *= weight * inv
			}
		}
		c.Backward(nn.View(d, rows, 1), true, false)
	}
	return mse / float64(n), gap / float64(n), qm / float64(n)
}

// Act returns tanh(mean) (deterministic) or a tanh-Gaussian sample.
func (l *Continuous) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	var s sampler
	if !deterministic {
		saved := l.Normal
		l.Normal = func(buf []float32) {
			for i := range buf {
				buf[i] = float32(rng.NormFloat64())
			}
		}
		defer func() { l.Normal = saved }()
	}
	l.sample(obs, &s, deterministic)
	copy(out, s.a)
}
