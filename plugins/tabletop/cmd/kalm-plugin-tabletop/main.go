// Command kalm-plugin-tabletop serves the tabletop environment as a
// stand-alone kalm env plugin, for a plugin path (KALM_PLUGIN_PATH). Build it
// with `go build -tags mujoco`; without the tag it serves goals, judges,
// experts and renders, and Reset fails with the MuJoCo install command.
package main

import (
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/tabletop"
)

func main() { env.Serve(tabletop.New()) }
