package clevr

import (
	"errors"
	"fmt"
	"math"
)

// MaxBalls is the largest number of balls a scene can hold (one per colour).
const MaxBalls = 5

// NumDirections is the number of push directions per ball.
const NumDirections = 8

// Physics model names.
const (
	ModelDynamic   = "dynamic"   // sequential-impulse disc solver (spec §8.2), the default
	ModelKinematic = "kinematic" // fixed push length and overlap resolution (spec §8.3)
	// ModelMuJoCo is the original scene as MJCF stepped by MuJoCo 2.2 (spec §3), in a
	// kalm built with the mujoco tag (libmujoco-dev).
	ModelMuJoCo = "mujoco"
)

// Initial-overlap handling (a sampled ball may lie inside a wall, spec §1.5).
const (
	OverlapMirror = "mirror" // faithful: eject mirrored about the limit on the first step
	OverlapClamp  = "clamp"  // clamp to the limit on the first step
	OverlapReject = "reject" // reject such samples in the scene sampler
)

// Relation conventions (spec quirk Q1). The y axis points away from the default camera.
const (
	// ConventionKALM is KALM's: behind = +y, front = −y. The default.
	ConventionKALM = "kalm"
	// ConventionOriginal is the original CLEVR-Robot question engine's: front = +y, behind = −y.
	ConventionOriginal = "original"
)

// Reward variants (spec quirk Q14).
const (
	RewardKALM   = "kalm"   // 10·Δ|A − target point| per step, 100 on the success step
	RewardIB     = "ib"     // 10·Δ|A − B| per step (ImagineBench's online reward), no bonus
	RewardBinary = "binary" // 1 on success steps, else 0 (the original)
)

// Easy-level judges (spec §5.3).
const (
	EasyJudgeAction = "action" // step_level_a: the first action's ball and direction (default)
	EasyJudgeState  = "state"  // step_level_s: some ball moved ≥ EasyMoveMin along the axis
)

// Config holds every setting of the simulation and the task layer. DefaultConfig gives KALM's
// settings; OriginalConfig the original environment's where they differ.
type Config struct {
	Model string // ModelDynamic, ModelKinematic or ModelMuJoCo (the "physics" setting)

	// World.
	NumBalls     int // ≤ MaxBalls; balls keep colour order red, blue, green, purple, cyan
	Colors       []string
	Radius       float64 // ball radius
	PusherRadius float64
	// Wall planes (ball centres stay Radius+ContactSlack inside them).
	WallXMin, WallXMax, WallYMin, WallYMax float64
	// ContactSlack is the gap MuJoCo's soft contacts leave between a resting ball and a wall.
	ContactSlack float64

	// Scene sampler (spec §1.5).
	SampleXMin, SampleXMax, SampleYMin, SampleYMax float64
	MinGap                                         float64 // minimum surface gap between balls
	AxisMargin                                     float64 // reject |dx| or |dy| below this
	Retries                                        int     // rejections per ball before the whole scene restarts
	Overlap                                        string  // OverlapMirror, OverlapClamp or OverlapReject
	// EjectExtra is added to the mirrored depth when a ball is ejected from a wall.
	EjectExtra float64

	// Push protocol (spec §3.2).
	PushOffset float64 // pusher start = p − PushOffset·d
	Substeps   int
	DT         float64
	ForceScale float64 // 1 for KALM's perfect pushes (the original discrete mode uses 1.1)

	// Dynamic model (spec §8.2).
	BallMass      float64 // effective translational mass, armature included
	PusherMass    float64
	BallDamping   float64
	PusherDamping float64
	Friction      float64 // Coulomb table friction on balls, N
	// BodyFriction is the Coulomb coefficient between bodies (ball–ball, pusher–ball,
	// ball–wall): MuJoCo's geom friction 0.8. 0 gives the frictionless contacts of spec §8.2;
	// 0.8 cuts the 10-step open-loop error against MuJoCo about fivefold (README.md).
	BodyFriction  float64
	Beta          float64 // Baumgarte bias factor
	Iterations    int     // sequential-impulse iterations per substep
	ContactTol    float64 // a pair is in contact when its gap is below this
	CarryVelocity bool    // keep ball velocities across steps (MuJoCo does)

	// Kinematic model (spec §8.3).
	KinematicCardinal, KinematicDiagonal float64 // push lengths
	KinematicPasses                      int

	// Episodes and tasks.
	MaxSteps       int  // 50 (KALM) or 100 (original)
	StopOnSuccess  bool // KALM ends episodes on success; the original does not
	Convention     string
	RelationAngle  float64 // KALM sector half-width, degrees (45)
	RelationDist   float64 // KALM distance threshold (0.39 + 1e-3)
	OriginalCosine float64 // original cone test (0.6), used with ConventionOriginal
	OriginalDist   float64 // original distance (0.7), used with ConventionOriginal
	LineAngle      float64 // ORDER: each hop within this many degrees of +x (30)
	GatherDist     float64 // SORT: balls within this of green (0.325)
	StillMax       float64 // STILL: no coordinate changes by this much (0.05)
	EasyMoveMin    float64 // step_level_s: movement along the axis (0.15)
	EasyJudge      string  // EasyJudgeAction or EasyJudgeState
	Reward         string  // RewardKALM, RewardIB or RewardBinary
	TargetOffset   float64 // KALM reward target point distance from B (0.195)

	// Bug compatibility.
	StaleFirstPush bool // Q5: the first push after injected positions aims at the sampled scene
	FixedObjectBug bool // Q11: only affects the original's goal= reward path; recorded, no effect here
}

// DefaultConfig returns KALM's settings with the dynamic disc model.
func DefaultConfig() Config {
	return Config{
		Model:             ModelDynamic,
		NumBalls:          5,
		Colors:            []string{"red", "blue", "green", "purple", "cyan"},
		Radius:            0.13,
		PusherRadius:      0.05,
		WallXMin:          -0.6,
		WallXMax:          0.6,
		WallYMin:          -0.3,
		WallYMax:          0.7,
		ContactSlack:      0.0018,
		SampleXMin:        -0.5,
		SampleXMax:        0.5,
		SampleYMin:        -0.3,
		SampleYMax:        0.5,
		MinGap:            0.1,
		AxisMargin:        0.01,
		Retries:           10,
		Overlap:           OverlapMirror,
		EjectExtra:        0.004,
		PushOffset:        0.15,
		Substeps:          40,
		DT:                0.01,
		ForceScale:        1,
		BallMass:          0.0492,
		PusherMass:        0.0403,
		BallDamping:       0.75,
		PusherDamping:     0.5,
		Friction:          0.0722,
		BodyFriction:      0.8,
		Beta:              0.3,
		Iterations:        4,
		ContactTol:        1e-4,
		CarryVelocity:     true,
		KinematicCardinal: 0.2504,
		KinematicDiagonal: 0.2766,
		KinematicPasses:   20,
		MaxSteps:          50,
		StopOnSuccess:     true,
		Convention:        ConventionKALM,
		RelationAngle:     45,
		RelationDist:      0.39 + 1e-3,
		OriginalCosine:    0.6,
		OriginalDist:      0.7,
		LineAngle:         30,
		GatherDist:        0.325,
		StillMax:          0.05,
		EasyMoveMin:       0.15,
		EasyJudge:         EasyJudgeAction,
		Reward:            RewardKALM,
		TargetOffset:      0.195,
	}
}

// OriginalConfig returns the original CLEVR-Robot's episode settings: 100 steps, no stop on
// success, binary reward, front = +y with the cosine-cone relation test.
func OriginalConfig() Config {
	c := DefaultConfig()
	c.MaxSteps = 100
	c.StopOnSuccess = false
	c.Convention = ConventionOriginal
	c.Reward = RewardBinary
	return c
}

// Validate reports the first setting that cannot work, naming the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("clevr config: %s = %v, want %s", field, v, want))
	}
	switch c.Model {
	case ModelDynamic, ModelKinematic, ModelMuJoCo:
	default:
		bad("model", c.Model, `"dynamic", "kinematic" or "mujoco"`)
	}
	if c.NumBalls < 2 || c.NumBalls > MaxBalls {
		bad("num_balls", c.NumBalls, "2..5")
	}
	if len(c.Colors) < c.NumBalls {
		bad("colors", c.Colors, fmt.Sprintf("at least num_balls = %d names", c.NumBalls))
	} else {
		for i := 0; i < c.NumBalls && i < MaxBalls; i++ {
			if c.Colors[i] != ColorNames[i] {
				bad("colors", c.Colors, fmt.Sprintf("the fixed order %v (the goal language and judges name balls by these colours; fewer balls take a prefix)", ColorNames))
				break
			}
		}
	}
	pos := func(field string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad(field, v, "a positive finite number")
		}
	}
	pos("radius", c.Radius)
	pos("pusher_radius", c.PusherRadius)
	pos("dt", c.DT)
	pos("ball_mass", c.BallMass)
	pos("pusher_mass", c.PusherMass)
	pos("force_scale", c.ForceScale)
	if c.WallXMax-c.WallXMin <= 2*(c.Radius+c.ContactSlack) || c.WallYMax-c.WallYMin <= 2*(c.Radius+c.ContactSlack) {
		bad("walls", [4]float64{c.WallXMin, c.WallXMax, c.WallYMin, c.WallYMax}, "an arena wider than one ball")
	}
	if c.SampleXMax <= c.SampleXMin || c.SampleYMax <= c.SampleYMin {
		bad("sample box", [4]float64{c.SampleXMin, c.SampleXMax, c.SampleYMin, c.SampleYMax}, "min < max")
	}
	if c.Retries < 1 {
		bad("retries", c.Retries, "≥ 1")
	}
	switch c.Overlap {
	case OverlapMirror, OverlapClamp, OverlapReject:
	default:
		bad("overlap", c.Overlap, `"mirror", "clamp" or "reject"`)
	}
	if c.Substeps < 1 {
		bad("substeps", c.Substeps, "≥ 1")
	}
	if c.Iterations < 1 {
		bad("iterations", c.Iterations, "≥ 1")
	}
	if c.BallDamping < 0 || c.PusherDamping < 0 || c.Friction < 0 || c.Beta < 0 {
		bad("damping/friction/beta", [4]float64{c.BallDamping, c.PusherDamping, c.Friction, c.Beta}, "≥ 0")
	}
	if c.MaxSteps < 1 {
		bad("max_steps", c.MaxSteps, "≥ 1")
	}
	switch c.Convention {
	case ConventionKALM, ConventionOriginal:
	default:
		bad("convention", c.Convention, `"kalm" or "original"`)
	}
	switch c.Reward {
	case RewardKALM, RewardIB, RewardBinary:
	default:
		bad("reward", c.Reward, `"kalm", "ib" or "binary"`)
	}
	switch c.EasyJudge {
	case EasyJudgeAction, EasyJudgeState:
	default:
		bad("easy_judge", c.EasyJudge, `"action" or "state"`)
	}
	return errors.Join(errs...)
}

// restLimits are the extreme ball-centre coordinates (where a ball pressed on a wall rests).
func (c *Config) restLimits() (xmin, xmax, ymin, ymax float64) {
	m := c.Radius + c.ContactSlack
	return c.WallXMin + m, c.WallXMax - m, c.WallYMin + m, c.WallYMax - m
}
