//go:build mujoco

package main

import (
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/tabletop"
)

// mujocoBuiltins are the built-ins that need MuJoCo (libmujoco-dev): this
// build links it.
func mujocoBuiltins() map[string]builtin {
	return map[string]builtin{"tabletop": {env: func() env.Env { return tabletop.New() }}}
}

// unavailableBuiltins names the built-ins this build lacks, with what they need.
func unavailableBuiltins() map[string]string { return nil }
