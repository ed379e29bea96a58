package results

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/kalm-go/kalm/internal/suggest"
)

// Summary is one run's progress, for `kalm ls`.
type Summary struct {
	ID, Name, Source, UpdatedAt  string
	Overrides                    []string
	Cells, Done, Failed, Running int
}

// ExperimentSummaries lists the recorded runs, most recent first.
func (s *Store) ExperimentSummaries(ctx context.Context) ([]Summary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, source, updated_at, overrides FROM experiments ORDER BY updated_at DESC, name`)
	if err != nil {
		return nil, s.openErr(err)
	}
	var out []Summary
	for rows.Next() {
		var x Summary
		var ov string
		if err := rows.Scan(&x.ID, &x.Name, &x.Source, &x.UpdatedAt, &ov); err != nil {
			rows.Close()
			return nil, s.openErr(err)
		}
		_ = json.Unmarshal([]byte(ov), &x.Overrides)
		out = append(out, x)
	}
	rows.Close()
	for i := range out {
		cells, err := s.CellStates(ctx, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].Cells = len(cells)
		for _, c := range cells {
			switch c.Status {
			case Done:
				out[i].Done++
			case Failed:
				out[i].Failed++
			case Running:
				out[i].Running++
			}
		}
	}
	return out, nil
}

// MinIDPrefix is the shortest prefix of a run id that FindExperiment
// accepts for the whole id.
const MinIDPrefix = 4

// FindExperiment returns the run that ref names: the run with that id, the
// most recently updated run named ref, or the run whose id starts with ref
// (at least MinIDPrefix characters, and only one run's). An empty ref means
// the most recent run of all.
func (s *Store) FindExperiment(ctx context.Context, ref string) (Experiment, error) {
	var e Experiment
	const cols = `SELECT id, name, source, config_given, config, kalm_version, host, created_at, updated_at, overrides FROM experiments `
	scan := func(row *sql.Row) error {
		var ov string
		err := row.Scan(&e.ID, &e.Name, &e.Source, &e.Given, &e.Config, &e.KalmVersion, &e.Host, &e.CreatedAt, &e.UpdatedAt, &ov)
		if err == nil {
			_ = json.Unmarshal([]byte(ov), &e.Overrides)
		}
		return err
	}
	err := scan(s.db.QueryRowContext(ctx, cols+`WHERE ? = '' OR name = ? OR id = ? ORDER BY id = ? DESC, updated_at DESC LIMIT 1`, ref, ref, ref, ref))
	if errors.Is(err, sql.ErrNoRows) && len(ref) >= MinIDPrefix {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM experiments WHERE substr(id, 1, ?) = ?`, len(ref), ref).Scan(&n); err != nil {
			return e, s.openErr(err)
		}
		if n > 1 {
			return e, fmt.Errorf("results database %s: %d runs have ids starting %q: give more of the id (kalm ls lists them)", s.path, n, ref)
		}
		err = scan(s.db.QueryRowContext(ctx, cols+`WHERE substr(id, 1, ?) = ?`, len(ref), ref))
	}
	if errors.Is(err, sql.ErrNoRows) {
		if ref == "" {
			return e, fmt.Errorf("results database %s: no experiment recorded yet (run one with kalm run)", s.path)
		}
		var names []string
		sums, _ := s.ExperimentSummaries(ctx)
		for _, x := range sums {
			if !slices.Contains(names, x.Name) {
				names = append(names, x.Name)
			}
		}
		return e, fmt.Errorf("results database %s: no run named %q or with that id%s (recorded: %s; kalm ls lists the runs)",
			s.path, ref, suggest.DidYouMean(ref, names), strings.Join(names, ", "))
	}
	if err != nil {
		return e, s.openErr(err)
	}
	e.Environment = map[string]string{}
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM environment WHERE experiment_id=?`, e.ID)
	if err != nil {
		return e, s.openErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return e, s.openErr(err)
		}
		e.Environment[k] = v
	}
	return e, rows.Err()
}

// RunsNamed lists the runs named name, most recent first.
func (s *Store) RunsNamed(ctx context.Context, name string) ([]Summary, error) {
	sums, err := s.ExperimentSummaries(ctx)
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, x := range sums {
		if x.Name == name {
			out = append(out, x)
		}
	}
	return out, nil
}

// ErrOtherWorkDir is returned by BindWorkDir for a database whose
// artifacts are in another work directory.
var ErrOtherWorkDir = errors.New("the results database belongs to another work directory")

// BindWorkDir ties the database to the work directory dir (an absolute
// path) whose artifacts it records. The first call records dir; later ones
// refuse another directory while the recorded one exists: its stages are
// done there, and a second work directory would run every one of them
// again. A recorded directory that is gone (moved, or deleted) is replaced
// by dir.
func (s *Store) BindWorkDir(ctx context.Context, dir string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var rec string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='workdir'`).Scan(&rec)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if rec != "" && rec != dir {
			if _, err := os.Stat(rec); err == nil {
				return fmt.Errorf("%w, %s, whose artifacts it records, not %s: pass -workdir %s, or another -db for this work directory",
					ErrOtherWorkDir, rec, dir, rec)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('workdir', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, dir)
		return err
	})
}

// CellState is a cell with the status of its chain: done when every stage
// is done, failed when one failed (Error names it), running, interrupted or pending.
type CellState struct {
	Cell
	Params map[string]any
	Status Status
	Error  string
}

// CellStates lists the cells of an experiment in id order.
func (s *Store) CellStates(ctx context.Context, expID string) ([]CellState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.grp, c.params, c.seed, cs.kind, st.key, st.status, st.error
		FROM cells c JOIN cell_stages cs ON cs.experiment_id=c.experiment_id AND cs.cell_id=c.id
		JOIN stages st ON st.key=cs.stage_key WHERE c.experiment_id=? ORDER BY c.grp, c.seed, c.id`, expID)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	var out []CellState
	idx := map[string]int{}
	for rows.Next() {
		var c Cell
		var kind, key, errText string
		var st Status
		if err := rows.Scan(&c.ID, &c.Group, &c.Params, &c.Seed, &kind, &key, &st, &errText); err != nil {
			return nil, s.openErr(err)
		}
		i, ok := idx[c.ID]
		if !ok {
			i = len(out)
			idx[c.ID] = i
			c.Stages = map[string]string{}
			cs := CellState{Cell: c, Status: Done}
			_ = json.Unmarshal([]byte(c.Params), &cs.Params)
			out = append(out, cs)
		}
		cs := &out[i]
		cs.Stages[kind] = key
		if rank(st) > rank(cs.Status) {
			cs.Status = st
			if st == Failed || st == Interrupted {
				cs.Error = fmt.Sprintf("%s stage %s: %s", kind, short(key), errText)
			}
		}
	}
	return out, rows.Err()
}

// rank orders statuses by how much they say about a cell.
func rank(s Status) int {
	switch s {
	case Done:
		return 0
	case Pending:
		return 1
	case Interrupted:
		return 2
	case Running:
		return 3
	case Failed:
		return 4
	}
	return 1
}

func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// CellEvaluation is one evaluation row of one cell.
type CellEvaluation struct {
	CellID string
	Group  string
	Params map[string]any
	Seed   int
	Evaluation
}

// Evaluations returns the evaluations of every cell of an experiment.
func (s *Store) Evaluations(ctx context.Context, expID string) ([]CellEvaluation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.grp, c.params, c.seed, e.checkpoint, e.level, e.episodes, e.success_rate, e.mean_return
		FROM cells c JOIN cell_stages cs ON cs.experiment_id=c.experiment_id AND cs.cell_id=c.id AND cs.kind='evaluate'
		JOIN stages st ON st.key=cs.stage_key AND st.status='done'
		JOIN evaluations e ON e.stage_key=cs.stage_key
		WHERE c.experiment_id=? ORDER BY c.grp, c.seed, e.rowid`, expID)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	var out []CellEvaluation
	for rows.Next() {
		var x CellEvaluation
		var params string
		if err := rows.Scan(&x.CellID, &x.Group, &params, &x.Seed, &x.Checkpoint, &x.Level, &x.Episodes, &x.SuccessRate, &x.MeanReturn); err != nil {
			return nil, s.openErr(err)
		}
		_ = json.Unmarshal([]byte(params), &x.Params)
		out = append(out, x)
	}
	return out, rows.Err()
}

// CellMetric is one metric point of one cell's stage.
type CellMetric struct {
	CellID string
	Group  string
	Params map[string]any
	Seed   int
	Metric
}

// Metrics returns the metric series named name of the stages of kind
// (train, collect, ...) of every cell of an experiment.
func (s *Store) Metrics(ctx context.Context, expID, kind, name string) ([]CellMetric, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.grp, c.params, c.seed, m.step, m.name, m.value
		FROM cells c JOIN cell_stages cs ON cs.experiment_id=c.experiment_id AND cs.cell_id=c.id AND cs.kind=?
		JOIN metrics m ON m.stage_key=cs.stage_key AND m.name=?
		WHERE c.experiment_id=? ORDER BY c.grp, c.seed, m.step`, kind, name, expID)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	var out []CellMetric
	for rows.Next() {
		var x CellMetric
		var params string
		if err := rows.Scan(&x.CellID, &x.Group, &params, &x.Seed, &x.Step, &x.Name, &x.Value); err != nil {
			return nil, s.openErr(err)
		}
		_ = json.Unmarshal([]byte(params), &x.Params)
		out = append(out, x)
	}
	return out, rows.Err()
}

// MetricNames lists the metric names recorded for stages of kind in an experiment.
func (s *Store) MetricNames(ctx context.Context, expID, kind string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT m.name FROM cell_stages cs JOIN metrics m ON m.stage_key=cs.stage_key
		WHERE cs.experiment_id=? AND cs.kind=?`, expID, kind)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, s.openErr(err)
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, rows.Err()
}
