package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FindStage returns the stage whose key is ref, or starts with ref (at
// least MinIDPrefix characters, and only one stage's key).
func (s *Store) FindStage(ctx context.Context, ref string) (Stage, error) {
	var keys []string
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM stages WHERE key = ? OR (length(?) >= ? AND substr(key, 1, length(?)) = ?) ORDER BY key = ? DESC LIMIT 3`,
		ref, ref, MinIDPrefix, ref, ref, ref)
	if err != nil {
		return Stage{}, s.openErr(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return Stage{}, s.openErr(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	switch {
	case len(keys) == 0:
		return Stage{}, fmt.Errorf("results database %s: no stage key is or starts with %q (kalm plan and kalm ls -v show the stages; a prefix needs %d characters)", s.path, ref, MinIDPrefix)
	case len(keys) > 1 && keys[0] != ref:
		return Stage{}, fmt.Errorf("results database %s: several stage keys start with %q (%s, %s, ...): give more of the key", s.path, ref, keys[0], keys[1])
	}
	st, err := s.Stages(ctx, keys[:1])
	if err != nil {
		return Stage{}, err
	}
	return st[keys[0]], nil
}

// ErrStageRunning is returned by ResetStage for a stage that a live kalm
// process is running.
var ErrStageRunning = errors.New("the stage is running")

// ResetStage forgets what a stage produced — its artifact record, metrics
// and evaluations — and makes it pending, so that the next run that needs
// it runs it again. Its attempts are kept.
func (s *Store) ResetStage(ctx context.Context, key string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var st Status
		if err := tx.QueryRowContext(ctx, `SELECT status FROM stages WHERE key=?`, key).Scan(&st); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("stage %s is not recorded", key)
			}
			return err
		}
		if st == Running {
			return fmt.Errorf("stage %s: %w (stop that run first)", key, ErrStageRunning)
		}
		for _, q := range []string{`DELETE FROM metrics WHERE stage_key=?`, `DELETE FROM evaluations WHERE stage_key=?`, `DELETE FROM artifacts WHERE stage_key=?`} {
			if _, err := tx.ExecContext(ctx, q, key); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE stages SET status='pending', error='', log_tail='', finished_at='', seconds=0 WHERE key=?`, key)
		return err
	})
}

// StageStatuses returns the status of every recorded stage, by key.
func (s *Store) StageStatuses(ctx context.Context) (map[string]Status, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, status FROM stages`)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	out := map[string]Status{}
	for rows.Next() {
		var k string
		var st Status
		if err := rows.Scan(&k, &st); err != nil {
			return nil, s.openErr(err)
		}
		out[k] = st
	}
	return out, rows.Err()
}
