package offline

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/framework/nn"
)

// Fixture is a tensor dump written by the torch golden scripts
// (../shared/bench/golden_torch.py and testdata/gen_golden.py): manifest.json
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
func (f *Fixture) Batch(k, inDim, actDim int) (*Batch, error) {
	p := fmt.Sprintf("batch%d/", k)
	obs, ok := f.Float32[p+"obs"]
	if !ok {
		return nil, fmt.Errorf("fixture has no %sobs", p)
	}
	n := len(obs) / inDim
	b := NewBatch(n, inDim, actDim)
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
