// Package clevr is CLEVR-Robot (Jiang et al. 2019, as modified by KALM) rebuilt in Go without
// MuJoCo: five balls on a walled table, 40 discrete "perfect" pushes, the goal levels KALM
// evaluates (training relations, rephrased relations, unseen easy one-step moves, unseen hard
// multi-relation, line and gather goals), their judges and rewards, the project's own goal
// language with a parser back to the structured goal form, scripted behaviour policies,
// plausibility checks and rendering to PNG and GIF.
//
// The physics is a 2-D disc model calibrated against MuJoCo (see the specification in
// ../shared/specs/clevr-robot.md §8): the "dynamic" sequential-impulse model by default and a
// cheaper "kinematic" model as an option. README.md lists the differences to MuJoCo.
//
// Conventions: ball index 0..4 is red, blue, green, purple, cyan; positions are metres in the
// table plane; KALM's relation convention is used by default (behind = +y, front = −y,
// left = −x, right = +x; see ConventionKALM).
package clevr
