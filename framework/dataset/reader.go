package dataset

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
)

// ReadMeta reads and validates a dataset's meta.json.
func ReadMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return m, fmt.Errorf("dataset %s: no %s: not a kalm dataset directory", dir, metaFile)
		}
		return m, fmt.Errorf("dataset %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("dataset %s: %s: %w", dir, metaFile, err)
	}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("dataset %s: %s: %w", dir, metaFile, err)
	}
	return m, nil
}

// Reader streams the episodes of a dataset one at a time, so a dataset never
// needs to be held in memory whole.
type Reader struct {
	dir   string
	meta  Meta
	files []*os.File
	r     map[string]*bufio.Reader
	lines *bufio.Scanner
	n     int // episodes read
	steps int // steps read
	buf   []byte
}

// Open opens the dataset at dir, checking that its column files have the sizes
// meta.json promises.
func Open(dir string) (*Reader, error) {
	m, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	want := map[string]int64{
		lengthsFile:   4 * int64(m.Episodes),
		obsFile:       4 * int64(m.Steps+m.Episodes) * int64(m.ObsDim),
		actionsFile:   4 * int64(m.Steps) * int64(m.ActionSpace.Dim),
		rewardsFile:   4 * int64(m.Steps),
		terminalsFile: int64(m.Steps),
		timeoutsFile:  int64(m.Steps),
		goalsFile:     4 * int64(m.Episodes) * int64(m.GoalDim),
	}
	rd := &Reader{dir: dir, meta: m, r: map[string]*bufio.Reader{}}
	for _, name := range columnFiles {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			rd.Close()
			return nil, fmt.Errorf("dataset %s: %w", dir, err)
		}
		rd.files = append(rd.files, f)
		if size, ok := want[name]; ok {
			st, err := f.Stat()
			if err != nil {
				rd.Close()
				return nil, fmt.Errorf("dataset %s: %w", dir, err)
			}
			if st.Size() != size {
				rd.Close()
				return nil, fmt.Errorf("dataset %s: %s has %d bytes, want %d for %d episodes and %d steps: truncated or foreign file",
					dir, name, st.Size(), size, m.Episodes, m.Steps)
			}
		}
		if name == episodesFile {
			rd.lines = bufio.NewScanner(f)
			rd.lines.Buffer(make([]byte, 1<<16), 1<<26)
		} else {
			rd.r[name] = bufio.NewReaderSize(f, 1<<16)
		}
	}
	return rd, nil
}

// Meta returns the dataset's metadata.
func (r *Reader) Meta() Meta { return r.meta }

// All returns the remaining episodes in order, as Next reads them: a
// reading error is yielded once, with a nil episode, and ends the sequence.
func (r *Reader) All() iter.Seq2[*Episode, error] {
	return func(yield func(*Episode, error) bool) {
		for {
			ep, err := r.Next()
			if errors.Is(err, io.EOF) || !yield(ep, err) || err != nil {
				return
			}
		}
	}
}

// Next returns the next episode, or io.EOF after the last one.
func (r *Reader) Next() (*Episode, error) {
	if r.n >= r.meta.Episodes {
		return nil, io.EOF
	}
	fail := func(err error) (*Episode, error) {
		return nil, fmt.Errorf("dataset %s: episode %d: %w", r.dir, r.n, err)
	}
	if !r.lines.Scan() {
		err := r.lines.Err()
		if err == nil {
			err = fmt.Errorf("%s ends early", episodesFile)
		}
		return fail(err)
	}
	var line episodeLine
	if err := json.Unmarshal(r.lines.Bytes(), &line); err != nil {
		return fail(fmt.Errorf("%s: %w", episodesFile, err))
	}
	var lb [4]byte
	if _, err := io.ReadFull(r.r[lengthsFile], lb[:]); err != nil {
		return fail(err)
	}
	t := int(int32(binary.LittleEndian.Uint32(lb[:])))
	if t != line.Length || t < 1 {
		return fail(fmt.Errorf("length %d in %s, %d in %s", t, lengthsFile, line.Length, episodesFile))
	}
	if t > r.meta.Steps-r.steps {
		return fail(fmt.Errorf("length %d in %s, but only %d of the %d steps in %s are left", t, lengthsFile, r.meta.Steps-r.steps, r.meta.Steps, metaFile))
	}
	e := &Episode{Goal: line.Goal, Success: line.Success}
	var err error
	if e.Observations, err = r.floats(obsFile, (t+1)*r.meta.ObsDim); err != nil {
		return fail(err)
	}
	if e.Actions, err = r.floats(actionsFile, t*r.meta.ActionSpace.Dim); err != nil {
		return fail(err)
	}
	if e.Rewards, err = r.floats(rewardsFile, t); err != nil {
		return fail(err)
	}
	if e.Goal.Vector, err = r.floats(goalsFile, r.meta.GoalDim); err != nil {
		return fail(err)
	}
	if e.Terminals, err = r.bools(terminalsFile, t); err != nil {
		return fail(err)
	}
	if e.Timeouts, err = r.bools(timeoutsFile, t); err != nil {
		return fail(err)
	}
	r.n++
	r.steps += t
	return e, nil
}

func (r *Reader) floats(name string, n int) ([]float32, error) {
	if cap(r.buf) < 4*n {
		r.buf = make([]byte, 4*n)
	}
	b := r.buf[:4*n]
	if _, err := io.ReadFull(r.r[name], b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func (r *Reader) bools(name string, n int) ([]bool, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r[name], b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v := make([]bool, n)
	for i, x := range b {
		if x > 1 {
			return nil, fmt.Errorf("%s: byte %d is %d, want 0 or 1", name, i, x)
		}
		v[i] = x == 1
	}
	return v, nil
}

// Close releases the files.
func (r *Reader) Close() error {
	var first error
	for _, f := range r.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.files = nil
	return first
}
