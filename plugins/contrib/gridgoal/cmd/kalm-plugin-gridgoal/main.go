// Command kalm-plugin-gridgoal serves the gridgoal env as a kalm plugin.
// Put the binary on kalm's plugin path (see the module's README).
package main

import (
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/contrib/gridgoal"
)

func main() { env.Serve(gridgoal.New()) }
