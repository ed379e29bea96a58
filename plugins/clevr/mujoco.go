package clevr

import (
	"fmt"
	"strings"
)

// mjState is the MuJoCo state of a scene between steps (ModelMuJoCo): qpos
// and qvel of the five balls' free joints (7 and 6 numbers each) and the
// pusher's two slide joints: the 69 numbers KALM logs as a full state.
type mjState struct {
	QPos  [7*MaxBalls + 2]float64
	QVel  [6*MaxBalls + 2]float64
	Valid bool // false: rebuild from Pos, Vel and Pusher (fresh positions)
}

// tableZ is the height of the table plane (spec §1.1).
const tableZ = -0.325

// SceneMJCF is the original CLEVR-Robot scene as MJCF (spec §1, as
// CLEVR-Robot's xml_utils.py writes it, minus textures), for cfg's balls,
// radii and walls: the model `physics: mujoco` steps.
func SceneMJCF(cfg Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<mujoco model="clevr-robot">
  <option timestep="%g" integrator="Euler" gravity="0 0 -9.81" iterations="20"/>
  <default>
    <joint armature="0.04" damping="1"/>
    <geom friction="0.8 0.1 0.1" condim="3" margin="0.002"/>
  </default>
  <worldbody>
    <geom name="table" type="plane" pos="0 0.5 %g" size="1 1 0.1" contype="1" conaffinity="1"/>
    <geom name="wall_left" type="plane" pos="%g 0 0" zaxis="1 0 0" size="1 1 0.1" contype="1" conaffinity="0"/>
    <geom name="wall_right" type="plane" pos="%g 0 0" zaxis="-1 0 0" size="1 1 0.1" contype="1" conaffinity="0"/>
    <geom name="wall_front" type="plane" pos="0 %g 0" zaxis="0 -1 0" size="1 1 0.1" contype="1" conaffinity="0"/>
    <geom name="wall_behind" type="plane" pos="0 %g 0" zaxis="0 1 0" size="1 1 0.1" contype="1" conaffinity="0"/>
`, cfg.DT, tableZ, cfg.WallXMin, cfg.WallXMax, cfg.WallYMax, cfg.WallYMin)
	for i := 0; i < cfg.NumBalls; i++ {
		fmt.Fprintf(&b, `    <body name="%s" pos="0 %g %g">
      <joint name="%s" type="free" damping="0.75"/>
      <geom type="sphere" size="%g" density="1" contype="1" conaffinity="1"/>
    </body>
`, ColorNames[i], float64(i), tableZ+cfg.Radius, ColorNames[i], cfg.Radius)
	}
	fmt.Fprintf(&b, `    <body name="pusher" pos="0 0 -0.2">
      <joint name="pusher_x" type="slide" axis="1 0 0" damping="0.5" limited="true" range="-10.3 10.3"/>
      <joint name="pusher_y" type="slide" axis="0 1 0" damping="0.5" limited="true" range="-10.3 10.3"/>
      <geom type="sphere" size="%g" density="0.5" contype="1" conaffinity="0"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="pusher_x" gear="1" ctrllimited="true" ctrlrange="-2 2"/>
    <motor joint="pusher_y" gear="1" ctrllimited="true" ctrlrange="-2 2"/>
  </actuator>
</mujoco>
`, cfg.PusherRadius)
	return b.String()
}
