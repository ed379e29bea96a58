//go:build mujoco

package clevr

import (
	"fmt"
	"sync"

	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

// mjSim steps scenes in MuJoCo exactly as the original environment does
// (spec §3.2 and §3.6): reset the data, write the state back with the pusher
// teleported behind the target ball and at rest, forward, set the motor
// force, Substeps × mj_step, forward.
type mjSim struct {
	cfg    Config
	mu     sync.Mutex // one mjData serves every state in turn
	d      *mujoco.Data
	ballQ  [MaxBalls]int
	ballV  [MaxBalls]int
	pushQ  [2]int
	pushV  [2]int
	nq, nv int
}

func newMuJoCo(cfg Config) (*mjSim, error) {
	m, err := mujoco.Load("clevr scene", SceneMJCF(cfg))
	if err != nil {
		return nil, fmt.Errorf("clevr physics mujoco: %w", err)
	}
	d, err := m.NewData()
	if err != nil {
		return nil, fmt.Errorf("clevr physics mujoco: %w", err)
	}
	s := &mjSim{cfg: cfg, d: d, nq: m.NQ(), nv: m.NV()}
	for i := 0; i < cfg.NumBalls; i++ {
		j, err := m.ID(mujoco.Joint, ColorNames[i])
		if err != nil {
			return nil, err
		}
		s.ballQ[i], s.ballV[i] = m.JointQPos(j), m.JointQVel(j)
	}
	for k, n := range []string{"pusher_x", "pusher_y"} {
		j, err := m.ID(mujoco.Joint, n)
		if err != nil {
			return nil, err
		}
		s.pushQ[k], s.pushV[k] = m.JointQPos(j), m.JointQVel(j)
	}
	if s.nq > len(mjState{}.QPos) || s.nv > len(mjState{}.QVel) {
		return nil, fmt.Errorf("clevr physics mujoco: the scene has nq %d, nv %d; the state holds %d, %d", s.nq, s.nv, len(mjState{}.QPos), len(mjState{}.QVel))
	}
	return s, nil
}

// step pushes ball in direction dir.
func (s *mjSim) step(st *State, ball, dir int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	if err := d.Reset(); err != nil {
		return err
	}
	q, v := d.QPos(), d.QVel()
	if st.MJ.Valid {
		copy(q, st.MJ.QPos[:s.nq])
		copy(v, st.MJ.QVel[:s.nv])
	} else {
		for i := 0; i < s.cfg.NumBalls; i++ {
			copy(q[s.ballQ[i]:], []float64{st.Pos[i][0], st.Pos[i][1], tableZ + s.cfg.Radius, 1, 0, 0, 0})
			copy(v[s.ballV[i]:], []float64{st.Vel[i][0], st.Vel[i][1], 0, 0, 0, 0})
		}
	}
	dx, dy := Directions[dir][0], Directions[dir][1]
	aim := st.Aim[ball]
	q[s.pushQ[0]], q[s.pushQ[1]] = aim[0]-s.cfg.PushOffset*dx, aim[1]-s.cfg.PushOffset*dy
	v[s.pushV[0]], v[s.pushV[1]] = 0, 0
	if err := d.Forward(); err != nil {
		return err
	}
	ctrl := d.Ctrl()
	ctrl[0], ctrl[1] = s.cfg.ForceScale*dx, s.cfg.ForceScale*dy
	if err := d.Step(s.cfg.Substeps); err != nil {
		return err
	}
	if err := d.Forward(); err != nil {
		return err
	}
	copy(st.MJ.QPos[:], q)
	copy(st.MJ.QVel[:], v)
	st.MJ.Valid = true
	for i := 0; i < s.cfg.NumBalls; i++ {
		st.Pos[i] = [2]float64{q[s.ballQ[i]], q[s.ballQ[i]+1]}
		st.Vel[i] = [2]float64{v[s.ballV[i]], v[s.ballV[i]+1]}
		st.Aim[i] = st.Pos[i]
	}
	st.Pusher = [2]float64{q[s.pushQ[0]], q[s.pushQ[1]]}
	st.PusherVel = [2]float64{v[s.pushV[0]], v[s.pushV[1]]}
	return nil
}
