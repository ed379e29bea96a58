package offlinetest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/nn"
)

// Fixture is a tensor dump written by the torch golden scripts
// (../shared/bench/golden_torch.py and framework/algo/offline/testdata/gen_golden.py): manifest.json
// lists tensors stored little-endian in data.bin.
type Fixture struct {
	Config  map[string]any
	Losses  []map[string]float64
	Float32 map[string][]float32
	Int64   map[string][]int64
	Shape   map[string][]int
}

// ReadFixture reads the dump in dir.
func ReadFixture(dir string) (*Fixture, error) {
	var man struct {
		Config  map[string]any       `json:"config"`
		Losses  []map[string]float64 `json:"losses"`
		Tensors []struct {
			Name   string `json:"name"`
			Shape  []int  `json:"shape"`
			Dtype  string `json:"dtype"`
			Offset int    `json:"offset"`
			Count  int    `json:"count"`
		} `json:"tensors"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "data.bin"))
	if err != nil {
		return nil, err
	}
	f := &Fixture{Config: man.Config, Losses: man.Losses, Float32: map[string][]float32{}, Int64: map[string][]int64{}, Shape: map[string][]int{}}
	for _, t := range man.Tensors {
		f.Shape[t.Name] = t.Shape
		switch t.Dtype {
		case "float32":
			if t.Offset+4*t.Count > len(data) {
				return nil, fmt.Errorf("%s: tensor %s beyond data.bin", dir, t.Name)
			}
			v := make([]float32, t.Count)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[t.Offset+4*i:]))
			}
			f.Float32[t.Name] = v
		case "int64":
			if t.Offset+8*t.Count > len(data) {
				return nil, fmt.Errorf("%s: tensor %s beyond data.bin", dir, t.Name)
			}
			v := make([]int64, t.Count)
			for i := range v {
				v[i] = int64(binary.LittleEndian.Uint64(data[t.Offset+8*i:]))
			}
			f.Int64[t.Name] = v
		default:
			return nil, fmt.Errorf("%s: tensor %s: dtype %q", dir, t.Name, t.Dtype)
		}
	}
	return f, nil
}

// Batch returns minibatch k of the dump as a Batch.
func (f *Fixture) Batch(k, inDim, actDim int) (*offline.Batch, error) {
	p := fmt.Sprintf("batch%d/", k)
	obs, ok := f.Float32[p+"obs"]
	if !ok {
		return nil, fmt.Errorf("fixture has no %sobs", p)
	}
	n := len(obs) / inDim
	b := offline.NewBatch(n, inDim, actDim)
	copy(b.Obs, obs)
	copy(b.NextObs, f.Float32[p+"next_obs"])
	copy(b.Rew, f.Float32[p+"rew"])
	copy(b.Done, f.Float32[p+"done"])
	if a, ok := f.Int64[p+"act"]; ok {
		for i, v := range a {
			b.ActIdx[i] = int32(v)
			b.Act[i] = float32(v)
		}
	} else {
		copy(b.Act, f.Float32[p+"act"])
	}
	return b, nil
}

// SetState copies the fixture tensors prefix+name into the state tensors of
// the same name (e.g. prefix "init/"), and fails if any named in want is
// missing from the fixture.
func (f *Fixture) SetState(prefix string, state []*nn.Param) error {
	for _, p := range state {
		v, ok := f.Float32[prefix+p.Name]
		if !ok {
			continue
		}
		if len(v) != len(p.Value) {
			return fmt.Errorf("fixture %s%s has %d values, state has %d", prefix, p.Name, len(v), len(p.Value))
		}
		copy(p.Value, v)
	}
	return nil
}

// Compare checks every state tensor that the fixture holds under prefix
// against it, element by element: |got − want| ≤ atol + rtol·|want|. It
// returns how many tensors were compared and the first mismatch.
func (f *Fixture) Compare(prefix string, state []*nn.Param, atol, rtol float64) (int, error) {
	n := 0
	for _, p := range state {
		want, ok := f.Float32[prefix+p.Name]
		if !ok {
			continue
		}
		n++
		for i, w := range want {
			if d := math.Abs(float64(p.Value[i] - w)); d > atol+rtol*math.Abs(float64(w)) {
				return n, fmt.Errorf("%s%s[%d] = %g, torch %g", prefix, p.Name, i, p.Value[i], w)
			}
		}
	}
	return n, nil
}

// ReplayOptions configures Fixture.Replay.
type ReplayOptions struct {
	InDim, ActDim int // batch shape
	// Metrics names, for each of the learner's metrics in order, the torch
	// loss it must match per step (|go − torch| ≤ 1e-4·max(1, |torch|));
	// "" skips a metric.
	Metrics []string
	// Sparse allows a named loss to be absent from some steps (TD3+BC logs
	// its actor loss only on delayed steps); each must still appear once.
	Sparse bool
	// Tensors is how many state tensors the fixture must hold per step;
	// each is compared element-wise to |go − torch| ≤ 1e-5 + 1e-4·|torch|.
	Tensors int
	// BeforeStep, when set, runs before update k (to install the random
	// draws torch recorded for it).
	BeforeStep func(k int)
}

// Replay loads the fixture's initial weights ("init/…") into l's state and
// runs its recorded minibatches through l.Update, checking after every step
// the named losses and every state tensor the fixture holds ("step<k>/…").
func (f *Fixture) Replay(t testing.TB, l offline.Learner, opts ReplayOptions) {
	t.Helper()
	if err := f.SetState("init/", l.State()); err != nil {
		t.Fatal(err)
	}
	if len(f.Losses) == 0 {
		t.Fatal("fixture has no steps")
	}
	seen := map[string]bool{}
	for k, want := range f.Losses {
		b, err := f.Batch(k, opts.InDim, opts.ActDim)
		if err != nil {
			t.Fatal(err)
		}
		if opts.BeforeStep != nil {
			opts.BeforeStep(k)
		}
		m := l.Update(b)
		for i, name := range opts.Metrics {
			if name == "" {
				continue
			}
			w, ok := want[name]
			if !ok {
				if !opts.Sparse {
					t.Fatalf("step %d: fixture has no loss %q", k, name)
				}
				continue
			}
			seen[name] = true
			if d := math.Abs(m[i] - w); d > 1e-4*math.Max(1, math.Abs(w)) {
				t.Errorf("step %d: %s %.7g, torch %.7g", k, name, m[i], w)
			}
		}
		// State again: the tensors are current only as State returns them
		// (td3bc's targets live packed between calls).
		n, err := f.Compare(fmt.Sprintf("step%d/", k), l.State(), 1e-5, 1e-4)
		if err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		if n != opts.Tensors {
			t.Fatalf("step %d: compared %d tensors, want %d", k, n, opts.Tensors)
		}
	}
	for _, name := range opts.Metrics {
		if name != "" && !seen[name] {
			t.Fatalf("no step of the fixture has loss %q", name)
		}
	}
}
