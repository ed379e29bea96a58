package results

import (
	"context"
	"encoding/json"
	"sort"
)

// Grounding is what an experiment recorded of one grounded language model:
// its assess stage's metrics (one-step dynamics error, explanation accuracy
// per level) and the metrics of the imagine stages it assessed (the judge's
// match rate and the plausibility shares per novel level).
type Grounding struct {
	// Assess and Ground are the stage keys; Plugin names the LM and the env
	// ("tinylm+clevr") at PluginVersion.
	Assess, Ground        string
	Plugin, PluginVersion string
	Status                Status
	// Metrics are the assess stage's metrics, by name (the last step's).
	Metrics map[string]float64
	// Imagine maps each novel level to its imagine stage's metrics, by name.
	Imagine map[string]map[string]float64
	// GroundMetrics are the ground stage's metrics, by name (the last step's).
	GroundMetrics map[string]float64
}

// Grounding returns the grounding records of an experiment, one per assess
// stage, in stage-key order.
func (s *Store) Grounding(ctx context.Context, expID string) ([]Grounding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT s.key, s.plugin, s.plugin_version, s.config, s.status
		FROM cell_stages cs JOIN stages s ON s.key=cs.stage_key
		WHERE cs.experiment_id=? AND cs.kind='assess' ORDER BY s.key`, expID)
	if err != nil {
		return nil, s.openErr(err)
	}
	var out []Grounding
	var imagine []map[string]string
	for rows.Next() {
		var g Grounding
		var cfg string
		if err := rows.Scan(&g.Assess, &g.Plugin, &g.PluginVersion, &cfg, &g.Status); err != nil {
			rows.Close()
			return nil, s.openErr(err)
		}
		var c struct {
			Ground  string            `json:"ground"`
			Imagine map[string]string `json:"imagine"`
		}
		_ = json.Unmarshal([]byte(cfg), &c)
		g.Ground = c.Ground
		out = append(out, g)
		imagine = append(imagine, c.Imagine)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.openErr(err)
	}
	for i := range out {
		if out[i].Metrics, err = s.lastMetrics(ctx, out[i].Assess); err != nil {
			return nil, err
		}
		if out[i].GroundMetrics, err = s.lastMetrics(ctx, out[i].Ground); err != nil {
			return nil, err
		}
		out[i].Imagine = map[string]map[string]float64{}
		levels := make([]string, 0, len(imagine[i]))
		for l := range imagine[i] {
			levels = append(levels, l)
		}
		sort.Strings(levels)
		for _, l := range levels {
			if out[i].Imagine[l], err = s.lastMetrics(ctx, imagine[i][l]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// lastMetrics returns a stage's metrics by name, each at its last step.
func (s *Store) lastMetrics(ctx context.Context, key string) (map[string]float64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, value FROM metrics WHERE stage_key=? ORDER BY name, step`, key)
	if err != nil {
		return nil, s.openErr(err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var n string
		var v float64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, s.openErr(err)
		}
		out[n] = v
	}
	return out, rows.Err()
}
