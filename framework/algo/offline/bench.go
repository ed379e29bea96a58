package offline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// Workload is one gradient-step benchmark at the PyTorch peer's shapes
// (../shared/bench/bench_torch.py).
type Workload struct {
	Name    string
	Factory Factory
	Spec    Spec
	Hyper   map[string]any
	Batch   int
	// MFLOP is the matrix work of one step by hand, with
	// ../shared/bench/flops.py's conventions (2·m·n·k a product), averaged
	// over two steps for an algorithm that alternates kinds of step;
	// offlinetest.CheckStepMFLOP holds what nn.ProductFLOPs counts to it.
	MFLOP float64
}

// Stepper runs one full step (sample a minibatch from a synthetic
// 100k-transition buffer, then update), as the peer benchmark does.
type Stepper struct {
	Learner Learner
	buf     *Batch // the whole buffer as one big batch
	b       *Batch
	rng     *rand.Rand
}

// NewStepper builds the learner and a synthetic buffer of n transitions
// (standard-normal observations and rewards, 1 % terminals, uniform actions).
func (w Workload) NewStepper(n int, seed uint64) (*Stepper, error) {
	h, err := Resolve(w.Factory.Schema(), w.Hyper)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	l, err := w.Factory.New(w.Spec, h, rng)
	if err != nil {
		return nil, err
	}
	ad := w.Spec.ActDim()
	buf := NewBatch(n, w.Spec.InDim, ad)
	nn.Normal(rng, buf.Obs, 1)
	nn.Normal(rng, buf.NextObs, 1)
	nn.Normal(rng, buf.Rew, 1)
	for i := range buf.Done {
		if rng.Float64() < 0.01 {
			buf.Done[i] = 1
		}
	}
	if w.Spec.Space.Kind == dataset.Discrete {
		for i := range buf.ActIdx {
			buf.ActIdx[i] = int32(rng.IntN(w.Spec.Space.N))
			buf.Act[i] = float32(buf.ActIdx[i])
		}
	} else {
		nn.Uniform(rng, buf.Act, 1)
	}
	return &Stepper{Learner: l, buf: buf, b: NewBatch(w.Batch, w.Spec.InDim, ad), rng: rand.New(rand.NewPCG(seed, 2))}, nil
}

// WarmStepper is the benchmarks' stepper: a 100k-transition buffer, seed 1,
// warmed up by 30 steps.
func (w Workload) WarmStepper() (*Stepper, error) { return w.StepperAfter(100_000, 30) }

// StepperAfter is a stepper on a buffer of n transitions, seed 1, that has
// taken warm steps.
func (w Workload) StepperAfter(n, warm int) (*Stepper, error) {
	s, err := w.NewStepper(n, 1)
	if err != nil {
		return nil, fmt.Errorf("bench %s: %w", w.Name, err)
	}
	for range warm {
		s.Step()
	}
	return s, nil
}

// Step samples a batch with replacement and performs one update.
func (s *Stepper) Step() []float64 {
	b, src := s.b, s.buf
	in, ad := b.InDim, b.ActDim
	for r := range b.N {
		i := s.rng.IntN(src.N)
		copy(b.Obs[r*in:(r+1)*in], src.Obs[i*in:])
		copy(b.NextObs[r*in:(r+1)*in], src.NextObs[i*in:])
		copy(b.Act[r*ad:(r+1)*ad], src.Act[i*ad:])
		b.ActIdx[r], b.Rew[r], b.Done[r] = src.ActIdx[i], src.Rew[i], src.Done[i]
	}
	return s.Learner.Update(b)
}

// BenchOptions configures Bench.
type BenchOptions struct {
	Seconds float64  // per timing window (default 4)
	Repeats int      // windows per workload; the median is reported (default 3)
	Only    []string // workload names to run (default all)
}

// BenchResult is one workload's measurement.
type BenchResult struct {
	Name           string
	StepsPerSecond float64 // median over windows
	Windows        []float64
	MFLOPPerStep   float64 // matrix products, counted (nn.ProductFLOPs)
	GFLOPS         float64
	AllocsPerStep  float64
	BytesPerStep   float64
}

// Bench times each workload's full gradient step and writes one line per
// workload: name, steps/s, the step's matrix work in MFLOP and GFLOP/s
// (counted by nn.ProductFLOPs, so they are the products this implementation
// runs, not the peer's), allocations per step. Run it with GOMAXPROCS=1 and
// OPENBLAS_NUM_THREADS=1 for per-core figures.
func Bench(ctx context.Context, out io.Writer, opts BenchOptions, workloads ...[]Workload) ([]BenchResult, error) {
	if opts.Seconds <= 0 {
		opts.Seconds = 4
	}
	if opts.Repeats <= 0 {
		opts.Repeats = 3
	}
	fmt.Fprintf(out, "# backend %s, GOMAXPROCS %d, %d×%gs windows, median\n", nn.Backend(), runtime.GOMAXPROCS(0), opts.Repeats, opts.Seconds)
	fmt.Fprintf(out, "%-14s %10s %11s %9s %12s\n", "algo", "steps/s", "MFLOP/step", "GFLOP/s", "allocs/step")
	var res []BenchResult
	for _, ws := range workloads {
		for _, w := range ws {
			if len(opts.Only) > 0 && !slices.Contains(opts.Only, w.Name) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			s, err := w.WarmStepper()
			if err != nil {
				return res, err
			}
			// Windows is allocated before the count starts: its appends
			// are not the step's.
			r := BenchResult{Name: w.Name, Windows: make([]float64, 0, opts.Repeats)}
			var m0, m1 runtime.MemStats
			var steps int
			runtime.ReadMemStats(&m0)
			f0 := nn.ProductFLOPs()
			for range opts.Repeats {
				n, start := 0, time.Now()
				for time.Since(start).Seconds() < opts.Seconds {
					for range 10 {
						s.Step()
					}
					n += 10
				}
				r.Windows = append(r.Windows, float64(n)/time.Since(start).Seconds())
				steps += n
			}
			f1 := nn.ProductFLOPs()
			runtime.ReadMemStats(&m1)
			sorted := append([]float64(nil), r.Windows...)
			sort.Float64s(sorted)
			r.StepsPerSecond = sorted[len(sorted)/2]
			r.MFLOPPerStep = float64(f1-f0) / 1e6 / float64(steps)
			r.GFLOPS = r.StepsPerSecond * r.MFLOPPerStep / 1e3
			r.AllocsPerStep = float64(m1.Mallocs-m0.Mallocs) / float64(steps)
			r.BytesPerStep = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(steps)
			fmt.Fprintf(out, "%-14s %10.1f %11.1f %9.1f %12.2f\n", w.Name, r.StepsPerSecond, r.MFLOPPerStep, r.GFLOPS, r.AllocsPerStep)
			res = append(res, r)
		}
	}
	return res, nil
}

// BenchServe times workloads on request, so that a peer benchmark in
// another process can alternate with it in short windows on the same core
// (docs/bench-pingpong.py). Each line of in is "NAME SECONDS"; BenchServe
// runs NAME's full steps for about SECONDS (the first request of a workload
// builds it and warms it up with 30 steps first) and answers "NAME STEPS
// ELAPSED_SECONDS" on out. It returns at the end of in.
func BenchServe(ctx context.Context, in io.Reader, out io.Writer, workloads ...[]Workload) error {
	byName := map[string]Workload{}
	for _, ws := range workloads {
		for _, w := range ws {
			byName[w.Name] = w
		}
	}
	steppers := map[string]*Stepper{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var name string
		var seconds float64
		if _, err := fmt.Sscanf(sc.Text(), "%s %g", &name, &seconds); err != nil {
			return fmt.Errorf("bench serve: request %q: want \"NAME SECONDS\": %w", sc.Text(), err)
		}
		w, ok := byName[name]
		if !ok {
			return fmt.Errorf("bench serve: unknown workload %q", name)
		}
		s := steppers[name]
		if s == nil {
			var err error
			if s, err = w.WarmStepper(); err != nil {
				return err
			}
			steppers[name] = s
		}
		n, start := 0, time.Now()
		for time.Since(start).Seconds() < seconds {
			s.Step()
			n++
		}
		if _, err := fmt.Fprintf(out, "%s %d %.6f\n", name, n, time.Since(start).Seconds()); err != nil {
			return err
		}
	}
	return sc.Err()
}
