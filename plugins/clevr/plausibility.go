package clevr

import (
	"context"
	"fmt"
	"math"

	"github.com/kalm-go/kalm/framework/env"
)

// Plausibility limits (paper Tables 4–5). A ball centre may stray at most OffBoardTol past
// the wall limit (wall − radius) before a state counts as off the workbench; no ball can move
// further than MaxStepMove in one push (the longest pushes in MuJoCo, repeated diagonal pushes
// and the blocked-pusher release, travel about 0.34 m), plus twice the depth by which it
// started inside a wall (the first-step ejection mirrors it about the limit); balls may not
// interpenetrate by more than MaxOverlap.
const (
	OffBoardTol = 0.01
	MaxStepMove = 0.45
	MaxOverlap  = 0.02
)

// PlausibilityScores are the per-rollout shares of implausible transitions.
type PlausibilityScores struct {
	OffBoard       float64 // next state has a ball outside the workbench
	BeyondDynamics float64 // a ball moved further than one push can move it
	Overlap        float64 // next state has two balls interpenetrating
	Unpushed       float64 // balls moved although the pushed ball did not (likely hallucinated)
	MaxMove        float64 // the largest single-step displacement seen
}

// Score rates a rollout of T+1 observations (flat) and T actions (nil to skip the
// action-dependent checks).
func (s *Sim) Score(obs []float32, actions []int) (PlausibilityScores, error) {
	var p PlausibilityScores
	od := 2 * s.n
	if len(obs) < 2*od || len(obs)%od != 0 {
		return p, fmt.Errorf("clevr plausibility: %d observation values, want T+1 ≥ 2 observations of dim %d", len(obs), od)
	}
	T := len(obs)/od - 1
	if actions != nil && len(actions) != T {
		return p, fmt.Errorf("clevr plausibility: %d actions for %d observations, want %d", len(actions), T+1, T)
	}
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return p, fmt.Errorf("clevr plausibility: observation value %d is %g", i, v)
		}
	}
	c := &s.cfg
	var off, beyond, overlap, unpushed int
	minDist := 2*c.Radius - MaxOverlap
	for k := 0; k < T; k++ {
		a, b := obs[k*od:(k+1)*od], obs[(k+1)*od:(k+2)*od]
		isOff, isBeyond, isOverlap := false, false, false
		moved := 0.0
		var moves [MaxBalls]float64
		for i := 0; i < s.n; i++ {
			x, y := float64(b[2*i]), float64(b[2*i+1])
			if x < s.ex0-OffBoardTol || x > s.ex1+OffBoardTol || y < s.ey0-OffBoardTol || y > s.ey1+OffBoardTol {
				isOff = true
			}
			ax, ay := float64(a[2*i]), float64(a[2*i+1])
			d := math.Hypot(x-ax, y-ay)
			moves[i] = d
			moved = math.Max(moved, d)
			// A ball starting inside a wall is first ejected about the limit (spec §3.5).
			depth := math.Max(0, s.ex0-ax) + math.Max(0, ax-s.ex1) + math.Max(0, s.ey0-ay) + math.Max(0, ay-s.ey1)
			if d > MaxStepMove+2*depth+c.EjectExtra {
				isBeyond = true
			}
			for j := 0; j < i; j++ {
				if math.Hypot(x-float64(b[2*j]), y-float64(b[2*j+1])) < minDist {
					isOverlap = true
				}
			}
		}
		p.MaxMove = math.Max(p.MaxMove, moved)
		if actions != nil && actions[k] >= 0 && actions[k] < NumActions(s.n) {
			pushed := actions[k] / NumDirections
			if moves[pushed] < 0.01 && moved > 0.05 && k > 0 {
				unpushed++
			}
		}
		if isOff {
			off++
		}
		if isBeyond {
			beyond++
		}
		if isOverlap {
			overlap++
		}
	}
	p.OffBoard = float64(off) / float64(T)
	p.BeyondDynamics = float64(beyond) / float64(T)
	p.Overlap = float64(overlap) / float64(T)
	p.Unpushed = float64(unpushed) / float64(T)
	return p, nil
}

// Plausibility scores a rollout by four shares of its transitions (see
// PlausibilityScores): out_of_bounds and beyond_dynamics are the paper's
// Table 4 columns, overlap and unpushed catch what they miss.
func (e *Env) Plausibility(_ context.Context, req env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sim := e.sim
	od := 2 * sim.n
	if len(req.Observations)%od != 0 || len(req.Observations) < 2*od {
		return nil, fmt.Errorf("clevr plausibility: %d observation values, want T+1 ≥ 2 observations of dim %d", len(req.Observations), od)
	}
	T := len(req.Observations)/od - 1
	var acts []int
	if req.Actions != nil {
		var err error
		if acts, err = e.checkActions(req.Actions, T, "plausibility"); err != nil {
			return nil, err
		}
	}
	s, err := sim.Score(req.Observations, acts)
	if err != nil {
		return nil, err
	}
	return &env.PlausibilityResponse{Shares: []env.Share{
		{Name: "out_of_bounds", Description: "a ball's centre leaves the workbench", Value: s.OffBoard},
		{Name: "beyond_dynamics", Description: "a ball moves further than one push can move it", Value: s.BeyondDynamics},
		{Name: "overlap", Description: "two balls interpenetrate", Value: s.Overlap},
		{Name: "unpushed", Description: "balls move although the pushed one does not", Value: s.Unpushed},
	}}, nil
}

// Render draws an observation as a PNG (see Renderer).
func (e *Env) Render(_ context.Context, req env.RenderRequest) (*env.RenderResponse, error) {
	e.mu.Lock()
	r := NewRenderer(e.cfg)
	e.mu.Unlock() // rendering reads only r's copy of the configuration
	b, err := r.PNG(req.Observation, req.Caption, req.Width)
	if err != nil {
		return nil, err
	}
	return &env.RenderResponse{PNG: b}, nil
}
