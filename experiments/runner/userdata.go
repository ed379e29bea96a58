package runner

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/results"
)

// copyUserDataset is the collect stage of a cell with dataset.path: it
// copies the user's dataset into the artifact, so that later edits of the
// original cannot change what the artifact's key promises, and checks that
// the copy is what was planned.
func copyUserDataset(job *Job, cfg experiments.CollectConfig) (*Output, error) {
	out := filepath.Join(job.Dir, datasetDir)
	sum, err := dataset.Copy(cfg.Path, out)
	if err != nil {
		return nil, fmt.Errorf("dataset.path %s: %w", cfg.Path, err)
	}
	if sum != cfg.Dataset {
		os.RemoveAll(out)
		return nil, fmt.Errorf("dataset.path %s changed since it was planned (content digest %.12s, planned %.12s): run again to plan with its new content",
			cfg.Path, sum, cfg.Dataset)
	}
	m, err := dataset.ReadMeta(out)
	if err != nil {
		return nil, err
	}
	return &Output{Metrics: []results.Metric{
		{Step: m.Episodes, Name: "episodes", Value: float64(m.Episodes)},
		{Step: m.Episodes, Name: "steps", Value: float64(m.Steps)},
	}}, nil
}
