//go:build !mujoco

package main

// mujocoBuiltins are the built-ins that need MuJoCo: none in a build without
// the mujoco tag.
func mujocoBuiltins() map[string]builtin { return nil }

// unavailableBuiltins names the built-ins this build lacks, with what they need.
func unavailableBuiltins() map[string]string {
	return map[string]string{"tabletop": "needs MuJoCo: apt-get install libmujoco-dev, then rebuild kalm with make"}
}
