package main

import (
	"maps"
	"runtime/debug"
	"sort"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/plugins/bc"
	"github.com/kalm-go/kalm/plugins/clevr"
	"github.com/kalm-go/kalm/plugins/cql"
	"github.com/kalm-go/kalm/plugins/iql"
	"github.com/kalm-go/kalm/plugins/openai"
	"github.com/kalm-go/kalm/plugins/td3bc"
	"github.com/kalm-go/kalm/plugins/tinylm"
)

// builtin is a plugin compiled into the kalm binary. It is still served in
// its own process (`kalm plugin serve NAME`), exactly as a third-party
// plugin's main does; the constructors also let tests and benchmarks run it
// in-process for comparison.
type builtin struct {
	env  func() env.Env
	algo func() algo.Algo
	lm   func() lm.LM
}

// builtins lists the plugins compiled into kalm.
func builtins() map[string]builtin {
	b := map[string]builtin{
		"clevr":  {env: func() env.Env { return clevrEnv() }},
		"bc":     {algo: func() algo.Algo { return offline.NewPlugin(bc.Factory) }},
		"cql":    {algo: func() algo.Algo { return offline.NewPlugin(cql.Factory) }},
		"iql":    {algo: func() algo.Algo { return offline.NewPlugin(iql.Factory) }},
		"td3bc":  {algo: func() algo.Algo { return offline.NewPlugin(td3bc.Factory) }},
		"tinylm": {lm: func() lm.LM { return tinylm.New() }},
		"openai": {lm: func() lm.LM { return openai.New() }},
	}
	maps.Copy(b, mujocoBuiltins()) // tabletop, in a build with the mujoco tag
	return b
}

// clevrEnv is CLEVR-Robot with the KALM settings; the host configures the rest.
func clevrEnv() env.Env {
	e, err := clevr.New(clevr.DefaultConfig())
	if err != nil {
		panic(err) // the default configuration is valid; a test checks it
	}
	return e
}

// serve serves a built-in plugin in this process.
func (b builtin) serve(args []string) {
	switch {
	case b.env != nil:
		env.Serve(b.env(), env.WithArgs(args), env.WithVersion(moduleVersion()))
	case b.algo != nil:
		algo.Serve(b.algo(), algo.WithArgs(args), algo.WithVersion(moduleVersion()))
	case b.lm != nil:
		lm.Serve(b.lm(), lm.WithArgs(args), lm.WithVersion(moduleVersion()))
	}
}

func builtinNames() []string {
	var names []string
	for n := range builtins() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// moduleVersion is the kalm module version built-in plugins report.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	// A devel build names its commit, so stage keys change when the code does.
	v := "devel"
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			v += "+" + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			v += "-dirty"
		}
	}
	return v
}

// version is the kalm module's version, with the VCS revision of a devel build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "kalm (unknown version)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return "kalm " + v + " " + bi.GoVersion
}
