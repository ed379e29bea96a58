// Command kalm-plugin-clevr serves the CLEVR-Robot environment as a stand-alone kalm env
// plugin. The kalm binary serves the same environment built in (`kalm plugin serve clevr`);
// this binary is for a plugin path (KALM_PLUGIN_PATH) and as an example of a plugin's main.
package main

import (
	"fmt"
	"os"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/clevr"
)

func main() {
	e, err := clevr.New(clevr.DefaultConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env.Serve(e)
}
