// Command kalm-plugin-openai serves the openai backend as a stand-alone kalm
// language-model plugin. The kalm binary serves the same backend built in
// (`kalm plugin serve openai`); this binary is for a plugin path
// (KALM_PLUGIN_PATH).
package main

import (
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/plugins/openai"
)

func main() { lm.Serve(openai.New()) }
