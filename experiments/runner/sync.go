package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/kalm-go/kalm/results"
)

// SyncSummary counts what Sync recorded.
type SyncSummary struct {
	Done, Failed int
	// Waiting are stages recorded running whose workers have not reported.
	Waiting int
}

// Sync records what workers reported while no run waited for them (a host
// that submitted batch jobs and went away): every stage the database does
// not have as done whose artifact is published is recorded done, and one
// whose worker reported a failure is recorded failed. It takes the work
// directory's lock, so it refuses while a run is using the directory
// (that run records them itself).
func Sync(ctx context.Context, store *results.Store, work string) (*SyncSummary, error) {
	work, unlock, err := lockWorkDir(ctx, store, work)
	if err != nil {
		return nil, err
	}
	defer unlock()
	status, err := store.StageStatuses(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(work, "stages"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	r := &Runner{Store: store}
	sum := &SyncSummary{}
	for _, e := range entries {
		key, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.Contains(key, ".") {
			continue
		}
		st, known := status[key]
		if !known || st == results.Done {
			continue
		}
		stage, _, err := ReadDescription(work, key)
		if err != nil {
			return sum, err
		}
		dir := artifactDir(work, stage)
		var rep Report
		repErr := ReadJSON(ReportPath(work, key), &rep)
		switch {
		case exists(filepath.Join(dir, outcomeFile)):
			if err := r.adopt(ctx, work, stage, dir, rep.Seconds); err != nil {
				return sum, err
			}
			sum.Done++
		case repErr == nil && rep.Status == ReportFailed && st == results.Running:
			if err := store.FailStage(ctx, key, results.Failed, rep.Error, logText(rep.LogTail)); err != nil {
				return sum, err
			}
			sum.Failed++
		case st == results.Running:
			sum.Waiting++
		}
	}
	return sum, nil
}
