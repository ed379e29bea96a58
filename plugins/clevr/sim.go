package clevr

import (
	"fmt"
	"math"
)

// State is the physical state of one scene: ball positions and velocities, the scene-graph
// cache the pushes aim at, and the pusher.
type State struct {
	Pos [MaxBalls][2]float64
	Vel [MaxBalls][2]float64
	// Aim is the scene-graph cache: the ball positions a push aims at. It equals Pos except
	// after positions are injected with the Q5 bug-compatibility flag (Config.StaleFirstPush).
	Aim       [MaxBalls][2]float64
	Pusher    [2]float64
	PusherVel [2]float64
	// MJ is the whole MuJoCo state between steps (ModelMuJoCo): heights,
	// rotations and spins the fields above do not hold.
	MJ mjState
}

// Sim steps states with one Config. It is immutable after New and safe for concurrent use
// on distinct states.
type Sim struct {
	cfg                    Config
	n                      int
	rx0, rx1, ry0, ry1     float64 // rest limits of ball centres
	ex0, ex1, ey0, ey1     float64 // ejection limits (wall minus radius)
	invMb, invMp           float64
	kWall, kPusher, kBalls float64 // effective masses along a contact normal
	dampB, dampP, fricStep float64 // per-substep velocity factors and friction decrement
	contactBall            float64 // centre distance of touching balls
	contactPusher          float64
	mj                     *mjSim // ModelMuJoCo's simulation
}

// NewSim validates cfg and prepares a simulator.
func NewSim(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, n: cfg.NumBalls}
	s.rx0, s.rx1, s.ry0, s.ry1 = cfg.restLimits()
	s.ex0, s.ex1, s.ey0, s.ey1 = cfg.WallXMin+cfg.Radius, cfg.WallXMax-cfg.Radius, cfg.WallYMin+cfg.Radius, cfg.WallYMax-cfg.Radius
	s.invMb, s.invMp = 1/cfg.BallMass, 1/cfg.PusherMass
	s.kWall, s.kPusher, s.kBalls = cfg.BallMass, 1/(s.invMb+s.invMp), cfg.BallMass/2
	s.dampB = 1 - cfg.DT*cfg.BallDamping/cfg.BallMass
	s.dampP = 1 - cfg.DT*cfg.PusherDamping/cfg.PusherMass
	s.fricStep = cfg.DT * cfg.Friction / cfg.BallMass
	s.contactBall = 2 * cfg.Radius
	s.contactPusher = cfg.Radius + cfg.PusherRadius
	if cfg.Model == ModelMuJoCo {
		mj, err := newMuJoCo(cfg)
		if err != nil {
			return nil, err
		}
		s.mj = mj
	}
	return s, nil
}

// Config returns the simulator's configuration.
func (s *Sim) Config() Config { return s.cfg }

// SetPositions writes ball positions (2·NumBalls numbers) into st with zero velocities. With
// resetAim (a fresh scene) the push cache follows; without it and with Config.StaleFirstPush
// the cache keeps the previous scene's positions (KALM's evaluation quirk Q5).
func (s *Sim) SetPositions(st *State, pos []float64, resetAim bool) error {
	if len(pos) != 2*s.n {
		return fmt.Errorf("clevr: positions have %d numbers, want %d (x, y of %d balls)", len(pos), 2*s.n, s.n)
	}
	for i := 0; i < s.n; i++ {
		x, y := pos[2*i], pos[2*i+1]
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			return fmt.Errorf("clevr: position of ball %d is (%v, %v), want finite numbers", i, x, y)
		}
		st.Pos[i] = [2]float64{x, y}
		st.Vel[i] = [2]float64{}
		if resetAim || !s.cfg.StaleFirstPush {
			st.Aim[i] = st.Pos[i]
		}
	}
	st.PusherVel = [2]float64{}
	st.MJ = mjState{}
	return nil
}

// Positions appends the 2·NumBalls ball coordinates of st to dst as float32 observations.
func (s *Sim) Positions(dst []float32, st *State) []float32 {
	for i := 0; i < s.n; i++ {
		dst = append(dst, float32(st.Pos[i][0]), float32(st.Pos[i][1]))
	}
	return dst
}

// Step applies action a (ball·8 + direction) to st.
func (s *Sim) Step(st *State, a int) error {
	ball, dir, err := DecodeAction(a, s.n)
	if err != nil {
		return err
	}
	if s.mj != nil {
		return s.mj.step(st, ball, dir)
	}
	s.eject(st)
	if !s.cfg.CarryVelocity {
		for i := 0; i < s.n; i++ {
			st.Vel[i] = [2]float64{}
		}
	}
	if s.cfg.Model == ModelKinematic {
		s.kinematic(st, ball, dir)
	} else {
		s.dynamic(st, ball, dir)
	}
	for i := 0; i < s.n; i++ {
		st.Aim[i] = st.Pos[i]
	}
	return nil
}

// eject moves balls that lie inside a wall back into the arena (spec §8.2 step 1).
func (s *Sim) eject(st *State) {
	mirror := s.cfg.Overlap != OverlapClamp
	extra := s.cfg.EjectExtra
	for i := 0; i < s.n; i++ {
		p := &st.Pos[i]
		moved := false
		for ax, lim := range [2][2]float64{{s.ex0, s.ex1}, {s.ey0, s.ey1}} {
			if q := lim[0] - p[ax]; q > 0 {
				p[ax] = lim[0]
				if mirror {
					p[ax] += q + extra
				}
				st.Vel[i][ax] = 0
				moved = true
			} else if q := p[ax] - lim[1]; q > 0 {
				p[ax] = lim[1]
				if mirror {
					p[ax] -= q + extra
				}
				st.Vel[i][ax] = 0
				moved = true
			}
		}
		if moved && !s.cfg.StaleFirstPush {
			st.Aim[i] = *p
		}
	}
}

// contact is one active constraint of a substep. j < 0 marks a wall (infinite mass) and the
// pusher is body index MaxBalls.
type contact struct {
	i, j    int
	nx, ny  float64 // normal from i to j (for walls: pointing out of the arena)
	bias    float64
	invMass float64 // 1 / effective mass along the normal
	impulse float64 // accumulated, ≥ 0
	tangent float64 // accumulated tangential (friction) impulse
	invJ    float64 // inverse mass of body j (0 for walls)
}

const (
	pusherBody = MaxBalls     // body index of the pusher
	wallBody   = MaxBalls + 1 // the static body every wall contact pairs with
)

// maxContacts bounds the contacts of a substep: ball pairs, pusher–ball pairs and walls.
const maxContacts = MaxBalls*(MaxBalls-1)/2 + MaxBalls + 4*MaxBalls

// candidate is a touching pair or a ball at a wall, before the activity filter.
type candidate struct {
	i, j   int
	nx, ny float64
	gap    float64
}

// wallNormals point out of the arena: left, right, behind (−y), front (+y) walls.
var wallNormals = [4][2]float64{{-1, 0}, {1, 0}, {0, -1}, {0, 1}}

func (s *Sim) dynamic(st *State, ball, dir int) {
	cfg := &s.cfg
	d := Directions[dir]
	fx, fy := d[0]*cfg.ForceScale, d[1]*cfg.ForceScale
	aim := st.Aim[ball]
	st.Pusher = [2]float64{aim[0] - cfg.PushOffset*d[0], aim[1] - cfg.PushOffset*d[1]}
	st.PusherVel = [2]float64{}

	// Bodies 0..n-1 are balls, body MaxBalls the pusher.
	var pos, vel [MaxBalls + 2][2]float64
	copy(pos[:], st.Pos[:])
	copy(vel[:], st.Vel[:])
	pos[pusherBody], vel[pusherBody] = st.Pusher, st.PusherVel
	dt := cfg.DT
	var cs [maxContacts]contact
	var cands [maxContacts]candidate
	n := s.n
	mu := cfg.BodyFriction
	for sub := 0; sub < cfg.Substeps; sub++ {
		// Forces: motor and damping on the pusher; damping and Coulomb friction on balls.
		vp := &vel[pusherBody]
		vp[0] = vp[0]*s.dampP + dt*fx*s.invMp
		vp[1] = vp[1]*s.dampP + dt*fy*s.invMp
		for i := 0; i < n; i++ {
			v := &vel[i]
			if v[0] == 0 && v[1] == 0 {
				continue
			}
			v[0] *= s.dampB
			v[1] *= s.dampB
			sp := math.Sqrt(v[0]*v[0] + v[1]*v[1])
			if sp <= s.fricStep {
				*v = [2]float64{}
			} else {
				k := (sp - s.fricStep) / sp
				v[0] *= k
				v[1] *= k
			}
		}
		// Touching pairs (ball–ball and pusher–ball), grouped by their first ball.
		ncand := 0
		for i := 0; i < n; i++ {
			pi := pos[i]
			for j := i + 1; j <= n; j++ {
				b, r := j, s.contactBall
				if j == n {
					b, r = pusherBody, s.contactPusher
				}
				dx, dy := pos[b][0]-pi[0], pos[b][1]-pi[1]
				if abs(dx) > r+cfg.ContactTol || abs(dy) > r+cfg.ContactTol {
					continue
				}
				dist := math.Sqrt(dx*dx + dy*dy)
				gap := dist - r
				if gap >= cfg.ContactTol {
					continue
				}
				nx, ny := 1.0, 0.0
				if dist > 1e-12 {
					nx, ny = dx/dist, dy/dist
				}
				cands[ncand] = candidate{i: i, j: b, nx: nx, ny: ny, gap: gap}
				ncand++
			}
		}
		// Only bodies connected to something moving can receive impulses: a contact among
		// bodies at rest that do not interpenetrate gets zero impulse, so it is skipped.
		var active [MaxBalls + 1]bool
		active[pusherBody] = true
		for i := 0; i < n; i++ {
			active[i] = vel[i][0] != 0 || vel[i][1] != 0
		}
		for changed := true; changed; {
			changed = false
			for k := 0; k < ncand; k++ {
				c := &cands[k]
				if active[c.i] != active[c.j] {
					active[c.i], active[c.j] = true, true
					changed = true
				}
			}
		}
		// Contacts in a fixed order: per ball, its pairs, then its walls.
		nc, k := 0, 0
		for i := 0; i < n; i++ {
			for ; k < ncand && cands[k].i == i; k++ {
				cd := &cands[k]
				if cd.gap >= 0 && !active[i] {
					continue
				}
				c := &cs[nc]
				nc++
				c.i, c.j, c.nx, c.ny, c.impulse, c.tangent = i, cd.j, cd.nx, cd.ny, 0, 0
				if cd.j == pusherBody {
					c.invJ, c.invMass = s.invMp, s.kPusher
				} else {
					c.invJ, c.invMass = s.invMb, s.kBalls
				}
				c.bias = 0
				if cd.gap < 0 {
					c.bias = cfg.Beta * -cd.gap / dt
				}
			}
			pi := pos[i]
			gaps := [4]float64{pi[0] - s.rx0, s.rx1 - pi[0], pi[1] - s.ry0, s.ry1 - pi[1]}
			for w, g := range gaps {
				if g >= cfg.ContactTol || (g >= 0 && !active[i]) {
					continue
				}
				c := &cs[nc]
				nc++
				c.i, c.j, c.nx, c.ny, c.impulse, c.tangent = i, wallBody, wallNormals[w][0], wallNormals[w][1], 0, 0
				c.invJ, c.invMass, c.bias = 0, s.kWall, 0
				if g < 0 {
					c.bias = cfg.Beta * -g / dt
				}
			}
		}
		// Sequential impulses: the relative normal velocity (j minus i) must reach the bias.
		// Walls are the static body wallBody: zero velocity, zero inverse mass.
		for it := 0; it < cfg.Iterations && nc > 0; it++ {
			change := 0.0 // the largest impulse change of this sweep
			for k := 0; k < nc; k++ {
				c := &cs[k]
				vi, vj := &vel[c.i], &vel[c.j]
				lam := (c.bias - ((vj[0]-vi[0])*c.nx + (vj[1]-vi[1])*c.ny)) * c.invMass
				old := c.impulse
				imp := old + lam
				if imp < 0 {
					imp = 0
				}
				c.impulse = imp
				lam = imp - old
				if lam != 0 {
					if lam > change {
						change = lam
					} else if -lam > change {
						change = -lam
					}
					px, py := lam*c.nx, lam*c.ny
					vi[0] -= px * s.invMb
					vi[1] -= py * s.invMb
					vj[0] += px * c.invJ
					vj[1] += py * c.invJ
				}
				if mu == 0 || imp == 0 {
					continue
				}
				// Coulomb friction between bodies (MuJoCo's sliding friction 0.8; balls barely
				// rotate, so contacts act on translation only). Tangent t = (−ny, nx).
				lt := ((vj[0]-vi[0])*c.ny - (vj[1]-vi[1])*c.nx) * c.invMass
				oldT := c.tangent
				lim := mu * imp
				tan := oldT + lt
				if tan > lim {
					tan = lim
				} else if tan < -lim {
					tan = -lim
				}
				c.tangent = tan
				lt = tan - oldT
				if lt > change {
					change = lt
				} else if -lt > change {
					change = -lt
				}
				px, py := -lt*c.ny, lt*c.nx
				vi[0] -= px * s.invMb
				vi[1] -= py * s.invMb
				vj[0] += px * c.invJ
				vj[1] += py * c.invJ
			}
			// Converged: a further sweep would change velocities by less than 1e-6 m/s (under
			// 0.4 µm over a whole push).
			if change*s.invMp < 1e-6 {
				break
			}
		}
		for i := 0; i < n; i++ {
			pos[i][0] += dt * vel[i][0]
			pos[i][1] += dt * vel[i][1]
		}
		pos[pusherBody][0] += dt * vel[pusherBody][0]
		pos[pusherBody][1] += dt * vel[pusherBody][1]
	}
	copy(st.Pos[:n], pos[:n])
	copy(st.Vel[:n], vel[:n])
	st.Pusher, st.PusherVel = pos[pusherBody], vel[pusherBody]
}

func (s *Sim) kinematic(st *State, ball, dir int) {
	cfg := &s.cfg
	d := Directions[dir]
	l := cfg.KinematicCardinal
	if d[0] != 0 && d[1] != 0 {
		l = cfg.KinematicDiagonal
	}
	norm := math.Hypot(d[0], d[1])
	n := s.n
	start := st.Aim[ball]
	st.Pos[ball] = [2]float64{start[0] + l*d[0]/norm, start[1] + l*d[1]/norm}
	st.Pusher = [2]float64{st.Pos[ball][0] - (cfg.Radius+cfg.PusherRadius)*d[0]/norm, st.Pos[ball][1] - (cfg.Radius+cfg.PusherRadius)*d[1]/norm}
	var moved [MaxBalls]bool
	moved[ball] = true
	r := s.contactBall
	for pass := 0; pass < cfg.KinematicPasses; pass++ {
		any := false
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				dx, dy := st.Pos[j][0]-st.Pos[i][0], st.Pos[j][1]-st.Pos[i][1]
				dist := math.Sqrt(dx*dx + dy*dy)
				if dist >= r-1e-9 {
					continue
				}
				any = true
				var nx, ny float64
				if dist > 1e-12 {
					nx, ny = dx/dist, dy/dist
				} else {
					nx, ny = d[0]/norm, d[1]/norm
				}
				depth := r - dist
				switch {
				case moved[i] && !moved[j]:
					st.Pos[j][0] += depth * nx
					st.Pos[j][1] += depth * ny
					moved[j] = true
				case moved[j] && !moved[i]:
					st.Pos[i][0] -= depth * nx
					st.Pos[i][1] -= depth * ny
					moved[i] = true
				default:
					st.Pos[i][0] -= depth / 2 * nx
					st.Pos[i][1] -= depth / 2 * ny
					st.Pos[j][0] += depth / 2 * nx
					st.Pos[j][1] += depth / 2 * ny
				}
			}
		}
		for i := 0; i < n; i++ {
			p := &st.Pos[i]
			p[0] = math.Min(math.Max(p[0], s.rx0), s.rx1)
			p[1] = math.Min(math.Max(p[1], s.ry0), s.ry1)
		}
		if !any {
			break
		}
	}
	for i := 0; i < n; i++ {
		st.Vel[i] = [2]float64{}
	}
	st.PusherVel = [2]float64{}
}
