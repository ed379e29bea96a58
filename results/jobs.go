package results

import (
	"context"
	"database/sql"
)

// StageJob is the batch job of a stage.
type StageJob struct {
	Key, Kind string
	Status    Status
	Job       string // a Slurm job id
	JobState  string // as the host last saw it: PENDING, RUNNING, COMPLETED...
}

// SetStageJob records the batch job that runs a stage and its state.
func (s *Store) SetStageJob(ctx context.Context, key, job, state string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE stages SET job=?, job_state=? WHERE key=?`, job, state, key)
		return err
	})
}

// StageJobs lists the stages of an experiment that ran as batch jobs.
func (s *Store) StageJobs(ctx context.Context, expID string) ([]StageJob, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT s.key, s.kind, s.status, s.job, s.job_state FROM stages s
		JOIN cell_stages c ON c.stage_key = s.key WHERE c.experiment_id = ? AND s.job != '' ORDER BY s.kind, s.key`, expID)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	var out []StageJob
	for rows.Next() {
		var j StageJob
		if err := rows.Scan(&j.Key, &j.Kind, &j.Status, &j.Job, &j.JobState); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
