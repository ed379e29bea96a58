package tinylm

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
)

// The checkpoint file: magic, a little-endian uint32 header length, the JSON
// header, then float32 blobs in little-endian order: the parameters, and for
// a training checkpoint the AdamW moments and the best parameters so far.
const (
	magic         = "KALM-TINYLM\n"
	FormatVersion = 5
	// oldestFormat is the oldest version this tinylm still reads: version
	// 4 is version 5 without state history, version 3 also without input
	// pairs, version 2 also without pair tokens, version 1 also without
	// state slots (their shapes have none).
	oldestFormat = 1
)

// header is a checkpoint's JSON header.
type header struct {
	Format    int            `json:"format"`
	Shape     Shape          `json:"shape"`
	Config    Config         `json:"config"`
	Tokenizer *bpe.Tokenizer `json:"tokenizer"`
	Norm      Norm           `json:"norm"`
	Env       string         `json:"env"`
	Actions   dataset.Space  `json:"action_space"`
	Tasks     []string       `json:"tasks"`
	Step      int            `json:"step"`
	// MaxText is the longest goal text of the grounding data, in tokens.
	MaxText int `json:"max_text"`
	// Training state, present in the checkpoints Ground resumes from.
	Train *trainState `json:"train,omitempty"`
	// Metrics are the validation losses of the saved parameters.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

type trainState struct {
	Total    int     `json:"total"`
	AdamT    int     `json:"adam_t"`
	RNG      []byte  `json:"rng"`
	BestVal  float64 `json:"best_val"`
	BestStep int     `json:"best_step"`
	Bad      int     `json:"bad"`
	Seed     uint64  `json:"seed"`
	Key      string  `json:"key"` // what the run was asked for: a resumed run must ask the same
}

// save writes a checkpoint atomically (a temporary file renamed into place).
func save(path string, h *header, blobs ...[]*nn.Param) error {
	h.Format = FormatVersion
	js, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("tinylm: checkpoint header: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString(magic)
	binary.Write(w, binary.LittleEndian, uint32(len(js)))
	w.Write(js)
	buf := make([]byte, 0, 1<<16)
	for _, ps := range blobs {
		for _, p := range ps {
			for i := 0; i < len(p.Value); {
				buf = buf[:0]
				for ; i < len(p.Value) && len(buf) < cap(buf)-4; i++ {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(p.Value[i]))
				}
				if _, err := w.Write(buf); err != nil {
					tmp.Close()
					return err
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// readHeader opens a checkpoint and reads its header; the reader is left at the blobs.
func readHeader(path string) (*header, *bufio.Reader, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(r, m); err != nil || string(m) != magic {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: %s is not a tinylm checkpoint (it does not start with %q)", path, magic[:len(magic)-1])
	}
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 64<<20 {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint %s: bad header length", path)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint %s: truncated header: %w", path, err)
	}
	var fv struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(js, &fv); err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint %s: header: %w", path, err)
	}
	if fv.Format < oldestFormat || fv.Format > FormatVersion {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint %s has format version %d, this tinylm reads versions %d to %d", path, fv.Format, oldestFormat, FormatVersion)
	}
	h := &header{}
	if err := json.Unmarshal(js, h); err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint %s: header: %w", path, err)
	}
	if h.Tokenizer == nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("tinylm: checkpoint %s has no tokenizer", path)
	}
	return h, r, f, nil
}

// readBlobs fills params from r.
func readBlobs(path string, r io.Reader, ps []*nn.Param) error {
	buf := make([]byte, 1<<16)
	for _, p := range ps {
		for i := 0; i < len(p.Value); {
			n := min(len(buf)/4, len(p.Value)-i)
			if _, err := io.ReadFull(r, buf[:4*n]); err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					return fmt.Errorf("tinylm: checkpoint %s is truncated (parameter %s)", path, p.Name)
				}
				return err
			}
			for j := 0; j < n; j++ {
				p.Value[i+j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
			}
			i += n
		}
	}
	return nil
}

// loaded is a model read from a checkpoint, ready for inference.
type loaded struct {
	h     *header
	model *Model
	v     vocab
	norm  *Norm
	od    int
	ad    int
}

// load reads a checkpoint's header and parameters (and, when st is set,
// the training state into st's buffers).
func load(path string) (*loaded, error) {
	h, r, f, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := NewModel(h.Shape, rand.New(rand.NewPCG(0, 0))) // overwritten below
	if err != nil {
		return nil, fmt.Errorf("tinylm: checkpoint %s: %w", path, err)
	}
	if err := readBlobs(path, r, m.Params()); err != nil {
		return nil, err
	}
	l := &loaded{h: h, model: m, v: newVocab(h.Tokenizer), norm: &h.Norm, od: h.Shape.ObsDim, ad: h.Actions.Dim}
	if l.v.size() != h.Shape.Vocab {
		return nil, fmt.Errorf("tinylm: checkpoint %s: tokenizer has %d ids, model %d", path, l.v.size(), h.Shape.Vocab)
	}
	return l, nil
}
