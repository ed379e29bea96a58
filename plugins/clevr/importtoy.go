package clevr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/kalm-go/kalm/framework/dataset"
)

// ToyData is the KALM authors' toy dataset (their data/clevr_robot.npy converted to JSON):
// 80 rollouts, one per training goal, each with 54 phrasings of its goal.
type ToyData struct {
	Source          string          `json:"source"`
	NumTrajectories int             `json:"num_trajectories"`
	ObservationDim  int             `json:"observation_dim"`
	ActionDim       int             `json:"action_dim"`
	Trajectories    []ToyTrajectory `json:"trajectories"`
	BallOrder       []string        `json:"ball_order"`
}

// ToyTrajectory is one rollout of the toy data. Goal is KALM's goal array: labels 1 (source)
// and 2 (destination) on the five balls, then the direction 0 behind, 1 left, 2 front, 3 right.
type ToyTrajectory struct {
	Instructions     []string    `json:"instructions"`
	Goal             []float64   `json:"goal"`
	Length           int         `json:"length"`
	Observations     [][]float64 `json:"observations"`
	Actions          []float64   `json:"actions"`
	Rewards          []float64   `json:"rewards"`
	Terminals        []bool      `json:"terminals"`
	NextObservations [][]float64 `json:"next_observations"`
}

// ReadToy reads and checks the toy dataset JSON at path.
func ReadToy(path string) (*ToyData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clevr toy data: %w", err)
	}
	defer f.Close()
	return DecodeToy(f, path)
}

// DecodeToy reads the toy dataset JSON from r; name is used in errors.
func DecodeToy(r io.Reader, name string) (*ToyData, error) {
	var d ToyData
	dec := json.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("clevr toy data %s: truncated JSON: %w", name, err)
		}
		return nil, fmt.Errorf("clevr toy data %s: not the KALM toy JSON: %w", name, err)
	}
	if d.ObservationDim != 10 || d.ActionDim != NumActions(MaxBalls) {
		return nil, fmt.Errorf("clevr toy data %s: observation_dim %d and action_dim %d, want 10 and 40 (is this the KALM CLEVR-Robot toy file?)", name, d.ObservationDim, d.ActionDim)
	}
	if len(d.Trajectories) == 0 || len(d.Trajectories) != d.NumTrajectories {
		return nil, fmt.Errorf("clevr toy data %s: %d trajectories, header says %d", name, len(d.Trajectories), d.NumTrajectories)
	}
	for i := range d.Trajectories {
		if err := d.Trajectories[i].check(); err != nil {
			return nil, fmt.Errorf("clevr toy data %s: trajectory %d: %w", name, i, err)
		}
	}
	return &d, nil
}

func (t *ToyTrajectory) check() error {
	T := len(t.Actions)
	switch {
	case T == 0:
		return errors.New("no actions")
	case t.Length != T:
		return fmt.Errorf("length %d but %d actions", t.Length, T)
	case len(t.Observations) != T || len(t.NextObservations) != T || len(t.Rewards) != T || len(t.Terminals) != T:
		return fmt.Errorf("%d observations, %d next observations, %d rewards, %d terminals for %d actions",
			len(t.Observations), len(t.NextObservations), len(t.Rewards), len(t.Terminals), T)
	case len(t.Goal) != MaxBalls+1:
		return fmt.Errorf("goal array has %d numbers, want 6", len(t.Goal))
	}
	for k, a := range t.Actions {
		if a != math.Trunc(a) || a < 0 || a >= float64(NumActions(MaxBalls)) {
			return fmt.Errorf("action %d = %v, want an index 0..39", k, a)
		}
	}
	for k := range t.Observations {
		if len(t.Observations[k]) != 2*MaxBalls || len(t.NextObservations[k]) != 2*MaxBalls {
			return fmt.Errorf("step %d: observation of %d numbers, want 10", k, len(t.Observations[k]))
		}
	}
	if _, err := t.Task(); err != nil {
		return err
	}
	return nil
}

// Task converts the KALM goal array to the structured form.
func (t *ToyTrajectory) Task() (Task, error) {
	src, dst := -1, -1
	for i := 0; i < MaxBalls; i++ {
		switch t.Goal[i] {
		case 1:
			src = i
		case 2:
			dst = i
		case 0:
		default:
			return Task{}, fmt.Errorf("goal label %v on ball %d, want 0, 1 or 2", t.Goal[i], i)
		}
	}
	dir := int(t.Goal[MaxBalls])
	if src < 0 || dst < 0 || float64(dir) != t.Goal[MaxBalls] || dir < 0 || dir >= NumRelations {
		return Task{}, fmt.Errorf("goal array %v is not a KALM relation goal", t.Goal)
	}
	return Task{Level: LevelTrain, Kind: KindRelation, Relations: []Relation{{src, dst, dir}}}, nil
}

// ObsFlat returns the T+1 observations (the recorded ones and the last next observation).
func (t *ToyTrajectory) ObsFlat() []float32 {
	out := make([]float32, 0, (len(t.Observations)+1)*2*MaxBalls)
	for _, o := range t.Observations {
		for _, v := range o {
			out = append(out, float32(v))
		}
	}
	for _, v := range t.NextObservations[len(t.NextObservations)-1] {
		out = append(out, float32(v))
	}
	return out
}

// ImportToy converts the KALM toy JSON at path into a kalm dataset directory outDir (which
// must not exist). Rewards and terminals are kept as recorded; a step is a timeout when it is
// the 50th without a terminal. The goal keeps all of the authors' phrasings as Texts.
func ImportToy(path, outDir string) (dataset.Meta, error) {
	d, err := ReadToy(path)
	if err != nil {
		return dataset.Meta{}, err
	}
	cfg := DefaultConfig()
	w, err := dataset.Create(outDir, dataset.Meta{
		Env: EnvName, Source: dataset.Real, ObsDim: 2 * MaxBalls, GoalDim: GoalDim,
		ActionSpace: dataset.DiscreteSpace(NumActions(MaxBalls)),
		Attrs:       map[string]string{"imported_from": path, "source": d.Source},
	})
	if err != nil {
		return dataset.Meta{}, fmt.Errorf("clevr toy import: %w", err)
	}
	defer w.Abort()
	for i := range d.Trajectories {
		tr := &d.Trajectories[i]
		task, _ := tr.Task() // checked by ReadToy
		ep := &dataset.Episode{
			Goal:         dataset.Goal{Level: LevelTrain, Params: task.Params(), Vector: task.Vector()},
			Observations: tr.ObsFlat(),
		}
		if len(tr.Instructions) > 0 {
			ep.Goal.Text = tr.Instructions[0]
			ep.Goal.Texts = tr.Instructions
		}
		for k := range tr.Actions {
			ep.Actions = append(ep.Actions, float32(tr.Actions[k]))
			ep.Rewards = append(ep.Rewards, float32(tr.Rewards[k]))
			ep.Terminals = append(ep.Terminals, tr.Terminals[k])
			ep.Timeouts = append(ep.Timeouts, !tr.Terminals[k] && k+1 >= cfg.MaxSteps)
			ep.Success = ep.Success || tr.Terminals[k]
		}
		if err := w.Write(ep); err != nil {
			return dataset.Meta{}, fmt.Errorf("clevr toy import: trajectory %d: %w", i, err)
		}
	}
	meta := w.Meta()
	if err := w.Close(); err != nil {
		return dataset.Meta{}, fmt.Errorf("clevr toy import: %w", err)
	}
	return meta, nil
}
