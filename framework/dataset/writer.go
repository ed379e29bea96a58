package dataset

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// column file names.
const (
	metaFile      = "meta.json"
	episodesFile  = "episodes.jsonl"
	lengthsFile   = "lengths.i32"
	obsFile       = "obs.f32"
	actionsFile   = "actions.f32"
	rewardsFile   = "rewards.f32"
	terminalsFile = "terminals.u8"
	timeoutsFile  = "timeouts.u8"
	goalsFile     = "goal_vectors.f32"
)

var columnFiles = []string{episodesFile, lengthsFile, obsFile, actionsFile, rewardsFile, terminalsFile, timeoutsFile, goalsFile}

// Writer appends episodes to a new dataset. It writes into a temporary
// directory beside the target and renames it into place on Close.
type Writer struct {
	dir, tmp string
	meta     Meta
	files    map[string]*os.File
	bufs     map[string]*bufio.Writer
	scratch  []byte
	err      error
}

// Create starts a dataset at dir, which must not exist yet. Episodes and Steps
// of meta are counted by the Writer.
func Create(dir string, meta Meta) (*Writer, error) {
	meta.Version = Version
	meta.Episodes, meta.Steps = 0, 0
	if err := meta.Validate(); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("dataset %s: already exists", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	w := &Writer{dir: dir, tmp: tmp, meta: meta, files: map[string]*os.File{}, bufs: map[string]*bufio.Writer{}}
	for _, name := range columnFiles {
		f, err := os.Create(filepath.Join(tmp, name))
		if err != nil {
			w.Abort()
			return nil, fmt.Errorf("dataset %s: %w", dir, err)
		}
		w.files[name], w.bufs[name] = f, bufio.NewWriterSize(f, 1<<16)
	}
	return w, nil
}

// Meta returns the metadata as written so far.
func (w *Writer) Meta() Meta { return w.meta }

// Write appends one episode. It rejects an episode whose shapes do not match
// the dataset or that holds NaN, Inf or out-of-space actions.
func (w *Writer) Write(e *Episode) error {
	if w.err != nil {
		return w.err
	}
	if err := w.meta.check(e); err != nil {
		return fmt.Errorf("dataset %s: episode %d: %w", w.dir, w.meta.Episodes, err)
	}
	line, err := episodeLine{Goal: e.Goal, Length: e.Len(), Success: e.Success}.marshal()
	if err != nil {
		return w.fail(err)
	}
	line = append(line, '\n')
	if _, err := w.bufs[episodesFile].Write(line); err != nil {
		return w.fail(err)
	}
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(int32(e.Len())))
	if _, err := w.bufs[lengthsFile].Write(n[:]); err != nil {
		return w.fail(err)
	}
	for _, c := range [...]struct {
		name string
		v    []float32
	}{{obsFile, e.Observations}, {actionsFile, e.Actions}, {rewardsFile, e.Rewards}, {goalsFile, e.Goal.Vector}} {
		if err := w.floats(c.name, c.v); err != nil {
			return w.fail(err)
		}
	}
	if err := w.bools(terminalsFile, e.Terminals); err != nil {
		return w.fail(err)
	}
	if err := w.bools(timeoutsFile, e.Timeouts); err != nil {
		return w.fail(err)
	}
	w.meta.Episodes++
	w.meta.Steps += e.Len()
	return nil
}

func (w *Writer) floats(name string, v []float32) error {
	w.scratch = w.scratch[:0]
	for _, x := range v {
		w.scratch = binary.LittleEndian.AppendUint32(w.scratch, math.Float32bits(x))
	}
	_, err := w.bufs[name].Write(w.scratch)
	return err
}

func (w *Writer) bools(name string, v []bool) error {
	w.scratch = w.scratch[:0]
	for _, b := range v {
		var x byte
		if b {
			x = 1
		}
		w.scratch = append(w.scratch, x)
	}
	_, err := w.bufs[name].Write(w.scratch)
	return err
}

func (w *Writer) fail(err error) error {
	w.err = fmt.Errorf("dataset %s: %w", w.dir, err)
	return w.err
}

// Close flushes the columns, writes meta.json and renames the dataset into
// place. After an error from Write, Close removes the temporary directory and
// returns that error.
func (w *Writer) Close() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	for _, name := range columnFiles {
		if err := w.bufs[name].Flush(); err != nil {
			w.Abort()
			return fmt.Errorf("dataset %s: %w", w.dir, err)
		}
		if err := w.files[name].Close(); err != nil {
			w.Abort()
			return fmt.Errorf("dataset %s: %w", w.dir, err)
		}
	}
	w.files = nil
	b, err := json.MarshalIndent(w.meta, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(w.tmp, metaFile), append(b, '\n'), 0o644)
	}
	if err == nil {
		err = os.Rename(w.tmp, w.dir)
	}
	if err != nil {
		w.Abort()
		return fmt.Errorf("dataset %s: %w", w.dir, err)
	}
	return nil
}

// Abort discards everything written.
func (w *Writer) Abort() {
	for _, f := range w.files {
		f.Close()
	}
	w.files = nil
	os.RemoveAll(w.tmp)
	if w.err == nil {
		w.err = fmt.Errorf("dataset %s: aborted", w.dir)
	}
}
