// Command kalm-plugin-tinylm serves tinylm as a stand-alone kalm language-model
// plugin. The kalm binary serves the same backend built in (`kalm plugin serve
// tinylm`); this binary is for a plugin path (KALM_PLUGIN_PATH).
package main

import (
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/plugins/tinylm"
)

func main() { lm.Serve(tinylm.New()) }
