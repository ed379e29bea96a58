package results

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Status is a stage's state.
type Status string

const (
	Pending     Status = "pending"
	Running     Status = "running"
	Done        Status = "done"
	Failed      Status = "failed"
	Interrupted Status = "interrupted"
)

// Experiment is one experiment as run: its configuration as given and as
// resolved, and facts about the machine.
type Experiment struct {
	ID          string // hash of the resolved configuration
	Name        string
	Source      string
	Given       string
	Config      string
	KalmVersion string
	Host        string
	// Overrides are the layers above the file, as given: "KALM_X=v" for a
	// KALM_* variable, "--set k=v" for a flag, in the order applied.
	Overrides   []string
	Environment map[string]string
	CreatedAt   string
	UpdatedAt   string
}

// Cell is one cell of an experiment and the stages it needs, by kind.
type Cell struct {
	ID     string
	Group  string
	Params string // JSON object
	Seed   int
	Stages map[string]string // kind → stage key
}

// Stage is one memoised unit of work.
type Stage struct {
	Key           string
	Kind          string
	Plugin        string
	PluginVersion string
	Config        string // JSON
	Inputs        []string
	Seed          uint64

	Status   Status
	Attempts int
	Error    string
	LogTail  string
	Seconds  float64
}

// Plugin is a plugin binary that took part in a run.
type Plugin struct {
	Kind, Name, Version, Checksum, Path string
}

// Metric is one point of a stage's metric time series.
type Metric struct {
	Step  int     `json:"step"`
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Evaluation is one checkpoint evaluated on one goal level.
type Evaluation struct {
	Checkpoint  int     `json:"checkpoint"`
	Level       string  `json:"level"`
	Episodes    int     `json:"episodes"`
	SuccessRate float64 `json:"success_rate"`
	MeanReturn  float64 `json:"mean_return"`
}

// Artifact is a stage's output directory, relative to the work directory.
type Artifact struct {
	Path  string
	Bytes int64
	Files int
}

// Outcome is everything a finished stage records, written in one transaction.
type Outcome struct {
	Artifact    Artifact
	Metrics     []Metric
	Evaluations []Evaluation
	Seconds     float64
}

// PutExperiment records an experiment, its cells and their stages (stages
// already known keep their status). It is one transaction.
func (s *Store) PutExperiment(ctx context.Context, e Experiment, cells []Cell, stages []Stage, plugins []Plugin) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t := now()
		ov, err := json.Marshal(e.Overrides)
		if err != nil || e.Overrides == nil {
			ov = []byte("[]")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO experiments(id, name, source, config_given, config, kalm_version, host, created_at, updated_at, overrides)
			VALUES(?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET source=excluded.source, config_given=excluded.config_given,
				kalm_version=excluded.kalm_version, host=excluded.host, updated_at=excluded.updated_at, overrides=excluded.overrides`,
			e.ID, e.Name, e.Source, e.Given, e.Config, e.KalmVersion, e.Host, t, t, string(ov))
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(e.Environment) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO environment(experiment_id, key, value) VALUES(?,?,?)
				ON CONFLICT DO UPDATE SET value=excluded.value`, e.ID, k, e.Environment[k]); err != nil {
				return err
			}
		}
		for _, st := range stages {
			in, _ := json.Marshal(st.Inputs)
			if in == nil || string(in) == "null" {
				in = []byte("[]")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO stages(key, kind, plugin, plugin_version, config, inputs, seed)
				VALUES(?,?,?,?,?,?,?) ON CONFLICT(key) DO NOTHING`,
				st.Key, st.Kind, st.Plugin, st.PluginVersion, st.Config, string(in), int64(st.Seed)); err != nil {
				return err
			}
		}
		for _, c := range cells {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cells(experiment_id, id, grp, params, seed) VALUES(?,?,?,?,?)
				ON CONFLICT DO NOTHING`, e.ID, c.ID, c.Group, c.Params, c.Seed); err != nil {
				return err
			}
			for _, kind := range sortedKeys(c.Stages) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO cell_stages(experiment_id, cell_id, kind, stage_key) VALUES(?,?,?,?)
					ON CONFLICT DO UPDATE SET stage_key=excluded.stage_key`, e.ID, c.ID, kind, c.Stages[kind]); err != nil {
					return err
				}
			}
		}
		for _, p := range plugins {
			if _, err := tx.ExecContext(ctx, `INSERT INTO plugins(kind, name, version, checksum, path) VALUES(?,?,?,?,?)
				ON CONFLICT DO NOTHING`, p.Kind, p.Name, p.Version, p.Checksum, p.Path); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stages returns the recorded state of the stages with the given keys.
func (s *Store) Stages(ctx context.Context, keys []string) (map[string]Stage, error) {
	out := make(map[string]Stage, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	stmt, err := s.db.PrepareContext(ctx, `SELECT kind, plugin, plugin_version, config, inputs, seed, status, attempts, error, log_tail, seconds FROM stages WHERE key=?`)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer stmt.Close()
	for _, k := range keys {
		st := Stage{Key: k}
		var inputs string
		var seed int64
		err := stmt.QueryRowContext(ctx, k).Scan(&st.Kind, &st.Plugin, &st.PluginVersion, &st.Config, &inputs, &seed,
			&st.Status, &st.Attempts, &st.Error, &st.LogTail, &st.Seconds)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, s.openErr(err)
		}
		st.Seed = uint64(seed)
		_ = json.Unmarshal([]byte(inputs), &st.Inputs)
		out[k] = st
	}
	return out, nil
}

// MarkInterrupted turns stages left running by processes that are gone
// into interrupted ones and returns how many there were. alive reports
// whether the owner ("host:pid", as given to StartStage) of a running stage
// still runs; nil treats every owner as gone.
func (s *Store) MarkInterrupted(ctx context.Context, alive func(owner string) bool) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT key, owner FROM stages WHERE status='running'`)
		if err != nil {
			return err
		}
		var dead []string
		for rows.Next() {
			var key, owner string
			if err := rows.Scan(&key, &owner); err != nil {
				rows.Close()
				return err
			}
			if alive == nil || !alive(owner) {
				dead = append(dead, key)
			}
		}
		rows.Close()
		for _, key := range dead {
			if _, err := tx.ExecContext(ctx, `UPDATE stages SET status='interrupted', error='the kalm process stopped while the stage ran', finished_at=? WHERE key=?`, now(), key); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}

// StartStage marks a stage running for owner ("host:pid") and counts the attempt.
func (s *Store) StartStage(ctx context.Context, key, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE stages SET status='running', owner=?, attempts=attempts+1, error='', log_tail='', started_at=?, finished_at='' WHERE key=?`, owner, now(), key)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return fmt.Errorf("stage %s is not recorded", key)
		}
		return nil
	})
}

// FinishStage records a stage's artifact, metrics and evaluations and marks
// it done, all in one transaction: a reader sees all of it or none.
func (s *Store) FinishStage(ctx context.Context, key string, o Outcome) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM metrics WHERE stage_key=?`, `DELETE FROM evaluations WHERE stage_key=?`, `DELETE FROM artifacts WHERE stage_key=?`} {
			if _, err := tx.ExecContext(ctx, q, key); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO artifacts(stage_key, path, bytes, files, created_at) VALUES(?,?,?,?,?)`,
			key, o.Artifact.Path, o.Artifact.Bytes, o.Artifact.Files, now()); err != nil {
			return err
		}
		if len(o.Metrics) > 0 {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO metrics(stage_key, step, name, value) VALUES(?,?,?,?)
				ON CONFLICT DO UPDATE SET value=excluded.value`)
			if err != nil {
				return err
			}
			for _, m := range o.Metrics {
				if _, err := stmt.ExecContext(ctx, key, m.Step, m.Name, m.Value); err != nil {
					stmt.Close()
					return err
				}
			}
			stmt.Close()
		}
		for _, e := range o.Evaluations {
			if _, err := tx.ExecContext(ctx, `INSERT INTO evaluations(stage_key, checkpoint, level, episodes, success_rate, mean_return) VALUES(?,?,?,?,?,?)
				ON CONFLICT DO UPDATE SET episodes=excluded.episodes, success_rate=excluded.success_rate, mean_return=excluded.mean_return`,
				key, e.Checkpoint, e.Level, e.Episodes, e.SuccessRate, e.MeanReturn); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE stages SET status='done', error='', log_tail='', finished_at=?, seconds=? WHERE key=?`, now(), o.Seconds, key)
		return err
	})
}

// FailStage marks a stage failed or interrupted with its error and the
// plugin's last log lines.
func (s *Store) FailStage(ctx context.Context, key string, status Status, errText, logTail string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE stages SET status=?, error=?, log_tail=?, finished_at=? WHERE key=?`,
			string(status), errText, logTail, now(), key)
		return err
	})
}

// Artifact returns the recorded artifact of a stage.
func (s *Store) Artifact(ctx context.Context, key string) (Artifact, bool, error) {
	var a Artifact
	err := s.db.QueryRowContext(ctx, `SELECT path, bytes, files FROM artifacts WHERE stage_key=?`, key).Scan(&a.Path, &a.Bytes, &a.Files)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, s.openErr(err)
	}
	return a, true, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
