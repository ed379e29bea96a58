package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Digest returns the SHA-256, in hex, of a dataset's content: meta.json and
// every column file, each preceded by its name and size. Two directories with
// the same digest hold the same dataset; any change to a value, an episode
// line or the metadata changes it. The experiment runner keys a stage that
// reads a user's dataset by this digest, so an edited dataset never reuses
// artifacts trained on its old content.
func Digest(dir string) (string, error) {
	return digest(dir, func(string) (io.WriteCloser, error) { return discard{}, nil })
}

// Copy copies the dataset at src to dst, which must not exist, and returns
// the Digest of what it copied. Like Writer, it fills a temporary sibling of
// dst and renames it into place, so dst is whole or absent.
func Copy(src, dst string) (string, error) {
	if _, err := os.Stat(dst); err == nil {
		return "", fmt.Errorf("dataset %s: already exists", dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("dataset %s: %w", dst, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return "", fmt.Errorf("dataset %s: %w", dst, err)
	}
	sum, err := digest(src, func(name string) (io.WriteCloser, error) { return os.Create(filepath.Join(tmp, name)) })
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("copy to %s: %w", dst, err)
	}
	return sum, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// digest hashes the dataset at dir, copying each file to what out opens for it.
func digest(dir string, out func(name string) (io.WriteCloser, error)) (string, error) {
	if _, err := ReadMeta(dir); err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range append([]string{metaFile}, columnFiles...) {
		if err := digestFile(h, dir, name, out); err != nil {
			return "", fmt.Errorf("dataset %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func digestFile(h io.Writer, dir, name string, out func(string) (io.WriteCloser, error)) error {
	in, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	w, err := out(name)
	if err != nil {
		return err
	}
	var size [8]byte
	binary.LittleEndian.PutUint64(size[:], uint64(st.Size()))
	h.Write([]byte(name))
	h.Write(size[:])
	n, err := io.Copy(io.MultiWriter(w, h), in)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != st.Size() {
		err = fmt.Errorf("%s changed while it was read (%d of %d bytes)", name, n, st.Size())
	}
	return err
}
