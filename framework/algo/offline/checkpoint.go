package offline

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// CheckpointVersion is the checkpoint format this package writes; it reads
// versions 1..CheckpointVersion.
const CheckpointVersion = 1

var magic = [8]byte{'K', 'A', 'L', 'M', 'C', 'K', 'P', 'T'}

// Checkpoint is everything needed to act with a policy or resume its
// training bit for bit: configuration, normaliser, weights, optimiser state,
// counters and random-stream states. On disk it is the 8-byte magic
// "KALMCKPT", a little-endian uint32 header length, the JSON header, then the
// tensors as little-endian float32 in header order.
type Checkpoint struct {
	Format     int                `json:"format"`
	Algo       string             `json:"algo"`
	Hyper      map[string]any     `json:"hyper"`
	ObsDim     int                `json:"obs_dim"`
	GoalDim    int                `json:"goal_dim"`
	Space      dataset.Space      `json:"action_space"`
	Step       int                `json:"step"`
	Total      int                `json:"total"`
	Batch      int                `json:"batch"`
	Seed       uint64             `json:"seed"`
	Counters   []int              `json:"counters"`
	SamplerRNG []byte             `json:"sampler_rng"`
	LearnerRNG []byte             `json:"learner_rng"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Tensors    []TensorInfo       `json:"tensors"`

	values map[string][]float32
}

// TensorInfo names one stored tensor.
type TensorInfo struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// WriteCheckpoint writes c with the given tensors to path atomically.
func WriteCheckpoint(path string, c *Checkpoint, tensors []*nn.Param) error {
	c.Format = CheckpointVersion
	c.Tensors = c.Tensors[:0]
	for _, p := range tensors {
		c.Tensors = append(c.Tensors, TensorInfo{p.Name, len(p.Value)})
	}
	hdr, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ckpt-*")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.Write(magic[:])
	binary.Write(w, binary.LittleEndian, uint32(len(hdr)))
	w.Write(hdr)
	buf := make([]byte, 4)
	for _, p := range tensors {
		for _, v := range p.Value {
			binary.LittleEndian.PutUint32(buf, math.Float32bits(v))
			w.Write(buf)
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// ReadCheckpoint reads a checkpoint, refusing foreign files and newer formats.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var m [8]byte
	if _, err := io.ReadFull(r, m[:]); err != nil || m != magic {
		return nil, fmt.Errorf("checkpoint %s: not a kalm offline-RL checkpoint (bad magic)", path)
	}
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 64<<20 {
		return nil, fmt.Errorf("checkpoint %s: bad header length", path)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("checkpoint %s: header: %w", path, err)
	}
	c := &Checkpoint{}
	if err := json.Unmarshal(hdr, c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: header: %w", path, err)
	}
	if c.Format < 1 || c.Format > CheckpointVersion {
		return nil, fmt.Errorf("checkpoint %s: format version %d, this kalm reads 1..%d", path, c.Format, CheckpointVersion)
	}
	c.values = map[string][]float32{}
	buf := make([]byte, 4)
	for _, t := range c.Tensors {
		if t.Count < 0 || t.Count > 1<<30 {
			return nil, fmt.Errorf("checkpoint %s: tensor %s: bad size %d", path, t.Name, t.Count)
		}
		v := make([]float32, t.Count)
		for i := range v {
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, fmt.Errorf("checkpoint %s: tensor %s truncated: %w", path, t.Name, err)
			}
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf))
		}
		c.values[t.Name] = v
	}
	return c, nil
}

// Tensor returns a stored tensor by name.
func (c *Checkpoint) Tensor(name string) ([]float32, bool) {
	v, ok := c.values[name]
	return v, ok
}

// Restored is a learner rebuilt from a checkpoint.
type Restored struct {
	Learner    Learner
	Transform  *Transform
	Hyper      Hyper
	LearnerPCG *rand.PCG
}

// Restore rebuilds f's learner from c: configuration, normaliser, every state
// tensor, counters and the learner's random stream.
func Restore(f Factory, c *Checkpoint, path string) (*Restored, error) {
	if c.Algo != f.Name {
		return nil, fmt.Errorf("checkpoint %s was written by algorithm %q, not %q", path, c.Algo, f.Name)
	}
	h, err := Resolve(f.Schema(), c.Hyper)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	t := &Transform{ObsDim: c.ObsDim, GoalDim: c.GoalDim, Space: c.Space}
	if m, ok := c.Tensor("transform/mean"); ok {
		s, _ := c.Tensor("transform/std")
		if len(m) != t.InDim() || len(s) != t.InDim() {
			return nil, fmt.Errorf("checkpoint %s: normaliser has %d/%d values, want %d", path, len(m), len(s), t.InDim())
		}
		t.Mean, t.Std = m, s
	}
	pcg := rand.NewPCG(0, 0)
	if err := pcg.UnmarshalBinary(c.LearnerRNG); err != nil {
		return nil, fmt.Errorf("checkpoint %s: learner random state: %w", path, err)
	}
	l, err := f.New(Spec{InDim: t.InDim(), Space: c.Space, Steps: c.Total}, h, rand.New(pcg))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	// New drew the initial weights from pcg; rewind it to the saved state.
	if err := pcg.UnmarshalBinary(c.LearnerRNG); err != nil {
		return nil, fmt.Errorf("checkpoint %s: learner random state: %w", path, err)
	}
	for _, p := range l.State() {
		v, ok := c.Tensor(p.Name)
		if !ok || len(v) != len(p.Value) {
			return nil, fmt.Errorf("checkpoint %s: tensor %s missing or of size %d, want %d", path, p.Name, len(v), len(p.Value))
		}
		copy(p.Value, v)
	}
	cs := l.Counters()
	if len(cs) != len(c.Counters) {
		return nil, fmt.Errorf("checkpoint %s: %d counters, want %d", path, len(c.Counters), len(cs))
	}
	for i, p := range cs {
		*p = c.Counters[i]
	}
	return &Restored{Learner: l, Transform: t, Hyper: h, LearnerPCG: pcg}, nil
}

// transformTensors exposes the normaliser as checkpoint tensors.
func transformTensors(t *Transform) []*nn.Param {
	if t.Mean == nil {
		return nil
	}
	return []*nn.Param{{Name: "transform/mean", Value: t.Mean}, {Name: "transform/std", Value: t.Std}}
}
