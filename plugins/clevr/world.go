package clevr

import (
	"fmt"
	"math/rand/v2"
)

// Push direction indices (action = ball·8 + direction). The names are world axes; which of
// them is "front" or "behind" depends on the relation convention (see Convention).
const (
	DirPosX = iota // (1, 0)
	DirPosY        // (0, 1)
	DirNegX        // (−1, 0)
	DirNegY        // (0, −1)
	DirPXPY        // (0.8, 0.8)
	DirNXPY        // (−0.8, 0.8)
	DirPXNY        // (0.8, −0.8)
	DirNXNY        // (−0.8, −0.8)
)

// Directions are the push force vectors of the 8 directions, in newtons. The diagonal ones are
// not normalised (spec §3.1, quirk Q9): they are 13 % stronger than the cardinal ones.
var Directions = [NumDirections][2]float64{
	{1, 0}, {0, 1}, {-1, 0}, {0, -1},
	{0.8, 0.8}, {-0.8, 0.8}, {0.8, -0.8}, {-0.8, -0.8},
}

// NumActions returns the size of the discrete action space for n balls (40 for 5).
func NumActions(n int) int { return n * NumDirections }

// DecodeAction splits action a into the pushed ball and the push direction. It fails for an
// action outside 0..8·numBalls−1.
func DecodeAction(a, numBalls int) (ball, dir int, err error) {
	if a < 0 || a >= NumActions(numBalls) {
		return 0, 0, fmt.Errorf("clevr: action %d out of range, want 0..%d", a, NumActions(numBalls)-1)
	}
	return a / NumDirections, a % NumDirections, nil
}

// EncodeAction is the inverse of DecodeAction.
func EncodeAction(ball, dir int) int { return ball*NumDirections + dir }

// SampleScene draws initial ball positions with the original placement rule (spec §1.5):
// uniform in the sampling box, rejecting a ball whose surface gap to an earlier ball is below
// MinGap or whose offset along x or y is below AxisMargin; after Retries rejections of one ball
// the whole scene restarts. With Overlap = "reject", samples overlapping a wall are rejected too.
// It returns 2·NumBalls numbers [x0, y0, x1, y1, …], or an error when the sampling box cannot
// hold the balls.
func SampleScene(cfg *Config, rng *rand.Rand) ([]float64, error) {
	n := cfg.NumBalls
	pos := make([]float64, 2*n)
	minDist := 2*cfg.Radius + cfg.MinGap
	ex0, ex1, ey0, ey1 := cfg.WallXMin+cfg.Radius, cfg.WallXMax-cfg.Radius, cfg.WallYMin+cfg.Radius, cfg.WallYMax-cfg.Radius
	for restarts := 0; ; restarts++ {
		ok := true
		for i := 0; i < n && ok; i++ {
			placed := false
			for try := 0; try < cfg.Retries; try++ {
				x := cfg.SampleXMin + rng.Float64()*(cfg.SampleXMax-cfg.SampleXMin)
				y := cfg.SampleYMin + rng.Float64()*(cfg.SampleYMax-cfg.SampleYMin)
				if cfg.Overlap == OverlapReject && (x < ex0 || x > ex1 || y < ey0 || y > ey1) {
					continue
				}
				good := true
				for j := 0; j < i; j++ {
					dx, dy := x-pos[2*j], y-pos[2*j+1]
					if dx*dx+dy*dy < minDist*minDist || abs(dx) < cfg.AxisMargin || abs(dy) < cfg.AxisMargin {
						good = false
						break
					}
				}
				if good {
					pos[2*i], pos[2*i+1] = x, y
					placed = true
					break
				}
			}
			ok = placed
		}
		if ok {
			return pos, nil
		}
		if restarts > 10000 {
			return nil, fmt.Errorf("clevr: scene sampler: no valid placement of %d balls after %d restarts; sample box [%g, %g]×[%g, %g] too small for min gap %g", n, restarts, cfg.SampleXMin, cfg.SampleXMax, cfg.SampleYMin, cfg.SampleYMax, cfg.MinGap)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
