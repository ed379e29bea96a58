package nn

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	for i := range m {
		for j := range n {
			var s float64
			for kk := range k {
				av := a[i*k+kk]
				if transA {
					av = a[kk*m+i]
				}
				bv := b[kk*n+j]
				if transB {
					bv = b[j*k+kk]
				}
				s += float64(av) * float64(bv)
			}
			old := float64(0)
			if beta != 0 {
				old = float64(beta) * float64(c[i*n+j])
			}
			c[i*n+j] = float32(float64(alpha)*s + old)
		}
	}
}

// TestPackedGemm checks the packed kernel against a float64 reference on
// shapes with partial tiles, several K blocks, transposes, alpha and beta.
// TestGemm checks products against float64 loops on every transpose, with
// alpha and beta, on shapes covering partial tiles, several K blocks and
// more than one of gonum's serial pieces: through the packed kernels
// directly, and through Gemm on whatever backend this build has.
func TestGemm(t *testing.T) {
	for _, impl := range []struct {
		name string
		skip bool
		gemm func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	}{
		{"packed", !packedGemm, sgemmPacked},
		{"Gemm/" + Backend(), false, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			am, bm := View(a, m, k), View(b, k, n)
			if ta {
				am = View(a, k, m)
			}
			if tb {
				bm = View(b, n, k)
			}
			Gemm(ta, tb, alpha, am, bm, beta, View(c, m, n))
		}},
	} {
		t.Run(impl.name, func(t *testing.T) {
			if impl.skip {
				t.Skip("no micro-kernel on this CPU")
			}
			checkGemm(t, impl.gemm)
		})
	}
}

func checkGemm(t *testing.T, gemm func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, s := range [][3]int{{1, 1, 1}, {6, 16, 3}, {7, 17, 5}, {13, 40, 10}, {256, 23, 300}, {5, 256, 600}, {64, 64, 0}, {256, 1, 300}, {1, 40, 300}, {1, 7, 5}, {400, 70, 260}, {12, 32, 4}, {25, 33, 7}, {24, 64, 257}, {1, 75, 30}, {1, 256, 240}, {30, 75, 1}, {256, 256, 1}, {200, 130, 9}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {2, -0.5}} {
					m, n, k := s[0], s[1], s[2]
					name := fmt.Sprintf("%dx%dx%d/%v%v/%v", m, n, k, ta, tb, ab)
					a, b := make([]float32, m*k), make([]float32, k*n)
					Normal(rng, a, 1)
					Normal(rng, b, 1)
					c := make([]float32, m*n)
					Normal(rng, c, 1)
					want := append([]float32(nil), c...)
					if ab[1] == 0 {
						for i := range c {
							c[i] = float32(math.NaN()) // must not be read
						}
					}
					lda, ldb := k, n
					if ta {
						lda = m
					}
					if tb {
						ldb = k
					}
					naiveGemm(ta, tb, m, n, k, ab[0], a, b, ab[1], want)
					if k == 0 {
						continue
					}
					gemm(ta, tb, m, n, k, ab[0], a, max(lda, 1), b, max(ldb, 1), ab[1], c, max(n, 1))
					for i := range c {
						if d := math.Abs(float64(c[i] - want[i])); !(d <= 1e-4*math.Max(1, math.Abs(float64(want[i])))*math.Sqrt(float64(k))) {
							t.Fatalf("%s: c[%d] = %v, want %v", name, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestGemmBias checks the fused bias+ReLU epilogue against Gemm followed by
// a bias add and ReLU, including several K blocks, partial tiles, the
// matrix-vector paths, and NaN propagation through the ReLU.
func TestGemmBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, s := range [][3]int{{256, 256, 10}, {13, 40, 23}, {6, 32, 600}, {256, 1, 256}, {1, 7, 5}, {7, 33, 300}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, relu := range []bool{false, true} {
					m, n, k := s[0], s[1], s[2]
					a, b, bias := randMat(rng, m, k), randMat(rng, k, n), make([]float32, n)
					if ta {
						a = randMat(rng, k, m)
					}
					if tb {
						b = randMat(rng, n, k)
					}
					Normal(rng, bias, 1)
					got, want := NewMat(m, n), NewMat(m, n)
					for i := range got.Data {
						got.Data[i] = float32(math.NaN()) // must be overwritten
					}
					GemmBias(ta, tb, 0.5, a, b, bias, relu, got)
					Gemm(ta, tb, 0.5, a, b, 0, want)
					for i := range want.Data {
						want.Data[i] += bias[i%n]
						if relu {
							want.Data[i] = max(want.Data[i], 0)
						}
					}
					for i := range want.Data {
						if d := math.Abs(float64(got.Data[i] - want.Data[i])); !(d <= 1e-4*math.Max(1, math.Abs(float64(want.Data[i])))*math.Sqrt(float64(k))) {
							t.Fatalf("%v ta=%v tb=%v relu=%v: c[%d] = %v, want %v", s, ta, tb, relu, i, got.Data[i], want.Data[i])
						}
					}
				}
			}
		}
	}
	// A NaN input must survive the ReLU (divergence detection relies on it).
	a, b := NewMat(12, 4), NewMat(40, 4)
	a.Data[0] = float32(math.NaN())
	c := NewMat(12, 40)
	GemmBias(false, true, 1, a, b, make([]float32, 40), true, c)
	if !math.IsNaN(float64(c.Data[0])) {
		t.Fatalf("ReLU turned NaN into %v", c.Data[0])
	}
}

// TestGemmMasked checks the ReLU′ mask of input-gradient products (fused in
// the AVX-512 epilogue under its column opmask) against Gemm followed by the
// mask, on every tile-row count, narrow and partial panels and several K
// blocks.
func TestGemmMasked(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, s := range [][3]int{{256, 256, 256}, {13, 40, 23}, {12, 16, 7}, {1, 5, 300}, {25, 33, 1}, {240, 256, 1}, {7, 17, 600}, {11, 64, 9}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				m, n, k := s[0], s[1], s[2]
				a, b := randMat(rng, m, k), randMat(rng, k, n)
				if ta {
					a = randMat(rng, k, m)
				}
				if tb {
					b = randMat(rng, n, k)
				}
				mask := randMat(rng, m, n)
				got, want := NewMat(m, n), NewMat(m, n)
				for i := range got.Data {
					got.Data[i] = float32(math.NaN()) // must be overwritten
				}
				gemmMasked(ta, tb, a, b, mask, got, nil)
				Gemm(ta, tb, 1, a, b, 0, want)
				for i := range want.Data {
					if !(mask.Data[i] > 0) {
						want.Data[i] = 0
					}
					if d := math.Abs(float64(got.Data[i] - want.Data[i])); !(d <= 1e-4*math.Max(1, math.Abs(float64(want.Data[i])))*math.Sqrt(float64(k))) {
						t.Fatalf("%v ta=%v tb=%v: c[%d] = %v, want %v", s, ta, tb, i, got.Data[i], want.Data[i])
					}
				}
			}
		}
	}
}

// TestGeneratedKernels checks that gemm512_amd64.{s,go} are what
// gen_gemm512.go writes: edit the generator, then run go generate.
func TestGeneratedKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go toolchain")
	}
	if runtime.GOARCH != "amd64" {
		// Cross-built tests (GOARCH=arm64 under qemu) would build the
		// generator for their own architecture; the kernels are amd64's.
		t.Skip("the generated kernels are amd64's")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "gen_gemm512.go", "-d", dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_gemm512.go: %v\n%s", err, b)
	}
	for _, f := range []string{"gemm512_amd64.s", "gemm512_amd64.go"} {
		want, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the output of gen_gemm512.go: run go generate ./framework/nn", f)
		}
	}
}

// TestGemmConcurrent runs products of different shapes from several
// goroutines at once (they share the packing scratch between calls) and
// checks each against the same product run alone.
func TestGemmConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	type job struct{ a, b, want Mat }
	var jobs []job
	for i := range 8 {
		m, k, n := 20+37*i, 300-23*i, 17+29*i
		j := job{a: randMat(rng, m, k), b: randMat(rng, n, k), want: NewMat(m, n)}
		Gemm(false, true, 1, j.a, j.b, 0, j.want)
		jobs = append(jobs, j)
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(jobs))
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 10 {
				j := jobs[(g+r)%len(jobs)]
				c := NewMat(j.want.Rows, j.want.Cols)
				Gemm(false, true, 1, j.a, j.b, 0, c)
				for i := range c.Data {
					if c.Data[i] != j.want.Data[i] {
						errs <- fmt.Sprintf("goroutine %d, %dx%d product: c[%d] = %v, want %v", g, c.Rows, c.Cols, i, c.Data[i], j.want.Data[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestProductFLOPs checks that every entry point to the matrix products
// counts 2·m·n·k once, on every backend.
func TestProductFLOPs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	a, b, c := randMat(rng, 7, 5), randMat(rng, 5, 3), NewMat(7, 3)
	mlp := NewMLP(rng, "m.", []int{5, 4, 3}, ReLU, Identity)
	x := randMat(rng, 7, 5)
	for _, tc := range []struct {
		name string
		run  func()
		want int64
	}{
		{"Gemm", func() { Gemm(false, false, 1, a, b, 0, c) }, 2 * 7 * 3 * 5},
		{"Gemm transposed", func() { Gemm(true, true, 1, randMat(rng, 5, 7), randMat(rng, 3, 5), 1, c) }, 2 * 7 * 3 * 5},
		{"GemmBias", func() { GemmBias(false, false, 1, a, b, make([]float32, 3), true, c) }, 2 * 7 * 3 * 5},
		{"MLP.Forward", func() { mlp.Forward(x) }, 2 * 7 * (5*4 + 4*3)},
		// weight gradients of both layers, the input gradient of the second
		// (through the first's ReLU), and the first's input gradient
		{"MLP.Backward", func() { mlp.Forward(x); mlp.Backward(randMat(rng, 7, 3), true, true) },
			2*7*(5*4+4*3) + 2*7*(5*4+4*3) + 2*7*(4*3+5*4)},
		{"MLP.ForwardGather", func() { mlp.ForwardGather(x, make([]int32, 7), make([]float32, 7)) }, 2 * 7 * (5*4 + 4*1)},
	} {
		f0 := ProductFLOPs()
		tc.run()
		if got := ProductFLOPs() - f0; got != tc.want {
			t.Errorf("%s: counted %d FLOPs, want %d", tc.name, got, tc.want)
		}
	}
}
