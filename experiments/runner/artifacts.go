package runner

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/kalm-go/kalm/results"
)

// Removed is a directory that RemoveArtifact or CollectGarbage removed (or,
// in a dry run, would remove), relative to the work directory.
type Removed struct {
	Path  string
	Bytes int64
	// Why says why it went: "artifact", "partial, stage done",
	// "partial, stage not recorded", "temporary".
	Why string
}

// RemoveArtifact discards what the stage whose key is ref (or starts with
// ref) produced: its artifact directory, what an unfinished attempt kept in
// WorkDir/partial, and the database's record of its artifact, metrics and
// evaluations. The stage becomes pending, so the next run that needs it
// runs it again (a stage's output is determined by its key, so the stages
// that used the old artifact stay valid). It takes the work directory's
// lock: it waits for no run, and refuses while one is running there.
func RemoveArtifact(ctx context.Context, store *results.Store, work, ref string) ([]Removed, error) {
	work, unlock, err := lockWorkDir(ctx, store, work)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := store.FindStage(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := store.ResetStage(ctx, st.Key); err != nil {
		return nil, err
	}
	var out []Removed
	for _, d := range []struct{ dir, why string }{{"artifacts", "artifact"}, {"partial", "partial"}} {
		rel := filepath.Join(d.dir, st.Kind, st.Key)
		if !exists(filepath.Join(work, rel)) {
			continue
		}
		n := du(filepath.Join(work, rel))
		if err := os.RemoveAll(filepath.Join(work, rel)); err != nil {
			return out, fmt.Errorf("stage %s: %w", st.Key, err)
		}
		out = append(out, Removed{Path: rel, Bytes: n, Why: d.why})
	}
	return out, nil
}

// CollectGarbage removes what no run can use any more from the work
// directory: the partial directories (WorkDir/partial/KIND/KEY) of stages
// that are done or that the database does not record, and leftovers in
// WorkDir/tmp. Artifacts stay, recorded or not: a run whose stage key
// matches an unrecorded complete artifact adopts it. With dryRun it only
// lists what it would remove. It takes the work directory's lock.
func CollectGarbage(ctx context.Context, store *results.Store, work string, dryRun bool) ([]Removed, error) {
	work, unlock, err := lockWorkDir(ctx, store, work)
	if err != nil {
		return nil, err
	}
	defer unlock()
	status, err := store.StageStatuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []Removed
	kinds, _ := os.ReadDir(filepath.Join(work, "partial"))
	for _, k := range kinds {
		keys, _ := os.ReadDir(filepath.Join(work, "partial", k.Name()))
		for _, key := range keys {
			st, known := status[key.Name()]
			why := ""
			switch {
			case !known:
				why = "partial, stage not recorded"
			case st == results.Done:
				why = "partial, stage done"
			default:
				continue // a later attempt continues from it
			}
			rel := filepath.Join("partial", k.Name(), key.Name())
			out = append(out, Removed{Path: rel, Bytes: du(filepath.Join(work, rel)), Why: why})
		}
	}
	// lockWorkDir emptied tmp already; a dry run lists nothing there.
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if dryRun {
		return out, nil
	}
	for _, r := range out {
		if err := os.RemoveAll(filepath.Join(work, r.Path)); err != nil {
			return out, err
		}
	}
	return out, nil
}

// lockWorkDir takes the work directory's lock (as a run does) after
// checking that store is the database of that directory.
func lockWorkDir(ctx context.Context, store *results.Store, work string) (string, func(), error) {
	if work == "" {
		work = ".kalm"
	}
	work, err := filepath.Abs(work)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(work); err != nil {
		return "", nil, fmt.Errorf("work directory: %w", err)
	}
	if err := store.BindWorkDir(ctx, work); err != nil {
		return "", nil, err
	}
	unlock, err := prepareWorkDir(work)
	if err != nil {
		return "", nil, err
	}
	return work, unlock, nil
}

// du is the size of the files under dir.
func du(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
