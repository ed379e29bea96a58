package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSep separates the files of a dataset in one fuzz input.
var fuzzSep = []byte("\n==file==\n")

// FuzzReader feeds arbitrary files to every reader of a dataset directory:
// each must return an error or a dataset, never panic or allocate beyond
// what the files hold. An input is meta.json and the column files joined
// by fuzzSep; the seed is a valid dataset.
func FuzzReader(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "ds")
	w, err := Create(dir, testMeta())
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range []*Episode{testEpisode(3, 0), testEpisode(1, 5)} {
		if err := w.Write(e); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	names := append([]string{metaFile}, columnFiles...)
	var files [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, b)
	}
	f.Add(bytes.Join(files, fuzzSep))
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		parts := bytes.SplitN(in, fuzzSep, len(names))
		for i, name := range names {
			var b []byte
			if i < len(parts) {
				b = parts[i]
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Load(dir)
		if err == nil && d.Len() != d.Meta.Steps {
			t.Fatalf("Load: %d transitions, meta.json says %d", d.Len(), d.Meta.Steps)
		}
		Summarize(dir)
		Digest(dir)
		if s, _, err := ReadSteps(dir); err == nil {
			if _, err := s.Episodes("train", func(*Episode) error { return nil }); err != nil {
				t.Fatalf("ReadSteps gave steps that Episodes refuses: %v", err)
			}
		}
	})
}
