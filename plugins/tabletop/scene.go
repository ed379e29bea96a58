package tabletop

// The scene. Units are metres; the table top is the plane z = 0, x points
// right and y away from the robot. Every fixture (button, drawer cabinet,
// window frame, door frame, wall) hangs from a mocap body, so a reset can place it, or
// park it far from the table when the task does not use it; the puck and
// the block have free joints and are parked on the floor below.
//
// The gripper is MuJoCo's equivalent of Meta-World's Sawyer hand: a body on
// three slide joints tied by a soft `connect` constraint to the mocap body
// hand_target, which each action moves; two fingers slide along x under
// position actuators. The hand's origin is the fingertips' midpoint, the
// point the observation reports.

import "math"

// Geometry the physics, the experts, the judges and the renderer share.
const (
	// Workspace of the hand (the mocap target is clipped to it).
	HandXMin, HandXMax = -0.45, 0.45
	HandYMin, HandYMax = -0.2, 0.7
	HandZMin, HandZMax = 0.005, 0.3

	// Table top extent (the workbench).
	TableXMin, TableXMax = -0.6, 0.6
	TableYMin, TableYMax = -0.3, 0.7

	// Step: the hand target moves by MaxDelta·a per step; a step is Substeps × Timestep.
	MaxDelta = 0.02
	Substeps = 20
	Timestep = 0.0025

	// Fingers: each finger's opening q ∈ [0, FingerOpen]; the actuator target
	// runs from FingerClose (a₃ = +1) to FingerOpen (a₃ = −1).
	FingerOpen  = 0.045
	FingerClose = -0.02
	FingerLen   = 0.05 // finger length above the hand origin

	PuckRadius, PuckHalfHeight = 0.025, 0.015
	BlockHalf                  = 0.02

	// Button: housing top at ButtonBaseTop; the cap's centre rests at ButtonRestZ
	// and travels down by up to ButtonTravel.
	ButtonBaseTop = 0.06
	ButtonRestZ   = 0.07
	ButtonTravel  = 0.02
	ButtonHalf    = 0.025

	// Drawer: the cabinet sits at y = CabinetY (x varies); the handle post
	// rests at y = CabinetY + HandleOffsetY, z = DrawerHandleZ, and moves
	// towards −y by the drawer's opening, up to DrawerTravel.
	CabinetY      = 0.58
	HandleOffsetY = -0.135
	DrawerHandleZ = 0.06
	DrawerTravel  = 0.16

	// Window: the frame's left edge sits at x = WindowX (y varies); the handle
	// post rests at x = WindowX, y = frame y + WindowHandleY, z = WindowHandleZ,
	// and slides towards +x by the opening, up to WindowTravel.
	WindowX       = -0.25
	WindowHandleY = -0.035
	WindowHandleZ = 0.07
	WindowTravel  = 0.16

	// Door: a panel on a vertical hinge at its frame's post; it swings
	// towards the robot (−y) by its angle, from 0 (shut, the panel along +x
	// from the hinge) to DoorMaxAngle. Its handle post sits DoorHandleX along
	// the panel and DoorHandleY in front of it, at height DoorHandleZ.
	DoorMaxAngle = math.Pi / 2
	DoorHandleX  = 0.15
	DoorHandleY  = -0.035
	DoorHandleZ  = 0.1

	// Wall: a box this size (half extents) standing on the table.
	WallHalfX, WallHalfY, WallHalfZ = 0.1, 0.01, 0.06

	HandleRadius = 0.012

	// Gripper mass (palm and fingers) that the hand's z joint is relieved of.
	handMass = 0.34
)

// parked is where an unused fixture or object waits, far from the table.
func parked(k int) [3]float64 { return [3]float64{3 + float64(k), 3, -0.8} }

// MJCF is the scene, written for MuJoCo 2.2.
const MJCF = `<mujoco model="kalm-tabletop">
  <compiler angle="radian"/>
  <option timestep="0.0025" iterations="50" cone="elliptic" impratio="5"/>
  <default>
    <geom friction="1 0.005 0.0001" condim="4" solref="0.01 1"/>
    <joint damping="0"/>
  </default>
  <worldbody>
    <light pos="0 0.2 1.5" dir="0 0 -1"/>
    <geom name="floor" type="plane" pos="0 0 -0.8" size="20 20 0.1" rgba=".2 .2 .2 1"/>
    <geom name="table" type="box" pos="0 0.2 -0.025" size="0.6 0.5 0.025" rgba=".62 .5 .38 1"/>

    <body name="hand_target" mocap="true" pos="0 0 0"/>
    <body name="hand" pos="0 0 0">
      <joint name="hand_x" type="slide" axis="1 0 0" damping="2"/>
      <joint name="hand_y" type="slide" axis="0 1 0" damping="2"/>
      <joint name="hand_z" type="slide" axis="0 0 1" damping="2"/>
      <geom name="palm" type="box" pos="0 0 0.06" size="0.065 0.015 0.01" mass="0.3" rgba=".3 .3 .35 1"/>
      <body name="finger_l">
        <joint name="finger_l" type="slide" axis="-1 0 0" limited="true" range="0 0.045" damping="0.5" solreflimit="0.005 1"/>
        <geom name="finger_l" type="box" pos="-0.005 0 0.025" size="0.005 0.012 0.025" mass="0.02" friction="2 0.01 0.0001" rgba=".8 .8 .85 1"/>
      </body>
      <body name="finger_r">
        <joint name="finger_r" type="slide" axis="1 0 0" limited="true" range="0 0.045" damping="0.5" solreflimit="0.005 1"/>
        <geom name="finger_r" type="box" pos="0.005 0 0.025" size="0.005 0.012 0.025" mass="0.02" friction="2 0.01 0.0001" rgba=".8 .8 .85 1"/>
      </body>
    </body>

    <body name="puck" pos="3 3 -0.785">
      <freejoint name="puck"/>
      <geom name="puck" type="cylinder" size="0.025 0.015" mass="0.05" rgba=".9 .5 .1 1"/>
    </body>
    <body name="block" pos="4 3 -0.78">
      <freejoint name="block"/>
      <geom name="block" type="box" size="0.02 0.02 0.02" mass="0.05" rgba=".2 .6 .9 1"/>
    </body>

    <body name="button_box" mocap="true" pos="5 3 -0.8">
      <geom name="button_box" type="box" pos="0 0 0.03" size="0.04 0.04 0.03" rgba=".35 .35 .35 1"/>
      <body name="button" pos="0 0 0.07">
        <joint name="button" type="slide" axis="0 0 1" limited="true" range="-0.02 0" stiffness="40" springref="0.01" damping="1" solreflimit="0.005 1"/>
        <geom name="button" type="box" size="0.025 0.025 0.01" mass="0.02" rgba=".85 .1 .1 1"/>
      </body>
    </body>

    <body name="cabinet" mocap="true" pos="6 3 -0.8">
      <geom name="cabinet" type="box" pos="0 0 0.06" size="0.1 0.1 0.06" rgba=".45 .3 .2 1"/>
      <body name="drawer" pos="0 0 0.06">
        <joint name="drawer" type="slide" axis="0 -1 0" limited="true" range="0 0.16" damping="2" solreflimit="0.005 1"/>
        <geom name="drawer" type="box" pos="0 -0.005 0" size="0.09 0.1 0.045" mass="0.3" rgba=".6 .42 .28 1"/>
        <geom name="drawer_arm" type="box" pos="0 -0.12 0" size="0.005 0.015 0.006" mass="0.01" rgba=".2 .2 .2 1"/>
        <geom name="drawer_handle" type="cylinder" pos="0 -0.135 0" size="0.012 0.026" mass="0.01" rgba=".2 .2 .2 1"/>
      </body>
    </body>

    <body name="window_frame" mocap="true" pos="7 3 -0.8">
      <geom name="window_sill" type="box" pos="0.1 0 0.005" size="0.2 0.02 0.005" rgba=".5 .5 .55 1"/>
      <geom name="window_lintel" type="box" pos="0.1 0 0.195" size="0.2 0.02 0.005" rgba=".5 .5 .55 1"/>
      <body name="window" pos="0 0 0.1">
        <joint name="window" type="slide" axis="1 0 0" limited="true" range="0 0.16" damping="2" solreflimit="0.005 1"/>
        <geom name="window" type="box" size="0.08 0.005 0.085" mass="0.2" rgba=".6 .8 1 .6"/>
        <geom name="window_arm" type="box" pos="0 -0.02 -0.03" size="0.005 0.015 0.006" mass="0.01" rgba=".2 .2 .2 1"/>
        <geom name="window_handle" type="cylinder" pos="0 -0.035 -0.03" size="0.012 0.026" mass="0.01" rgba=".2 .2 .2 1"/>
      </body>
    </body>

    <body name="door_frame" mocap="true" pos="9 3 -0.8">
      <geom name="door_post" type="box" pos="-0.015 0 0.1" size="0.008 0.008 0.1" rgba=".5 .5 .55 1"/>
      <body name="door" pos="0 0 0.1">
        <joint name="door" type="hinge" axis="0 0 -1" limited="true" range="0 1.5707963" damping="0.05" solreflimit="0.005 1"/>
        <geom name="door" type="box" pos="0.09 0 0" size="0.09 0.005 0.09" mass="0.3" rgba=".55 .4 .3 1"/>
        <geom name="door_arm" type="box" pos="0.15 -0.02 0" size="0.005 0.015 0.006" mass="0.01" rgba=".2 .2 .2 1"/>
        <geom name="door_handle" type="cylinder" pos="0.15 -0.035 0" size="0.012 0.026" mass="0.01" rgba=".2 .2 .2 1"/>
      </body>
    </body>

    <body name="wall" mocap="true" pos="8 3 -0.8">
      <geom name="wall" type="box" size="0.1 0.01 0.06" rgba=".8 .8 .75 1"/>
    </body>
  </worldbody>
  <contact>
    <exclude body1="button_box" body2="button"/>
    <exclude body1="cabinet" body2="drawer"/>
    <exclude body1="window_frame" body2="window"/>
    <exclude body1="door_frame" body2="door"/>
    <exclude body1="finger_l" body2="finger_r"/>
  </contact>
  <equality>
    <connect name="hand" body1="hand" body2="hand_target" anchor="0 0 0" solref="0.01 1"/>
  </equality>
  <actuator>
    <position name="finger_l" joint="finger_l" kp="300" ctrllimited="true" ctrlrange="-0.02 0.045" forcelimited="true" forcerange="-10 10"/>
    <position name="finger_r" joint="finger_r" kp="300" ctrllimited="true" ctrlrange="-0.02 0.045" forcelimited="true" forcerange="-10 10"/>
  </actuator>
</mujoco>
`
