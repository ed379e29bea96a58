package main

import (
	"runtime/debug"
	"sort"
)

// builtins maps each built-in plugin to the function that serves it in this
// process (`kalm plugin serve NAME`). Each is a one-line Serve call, exactly
// what a third-party plugin's main does.
func builtins() map[string]func(args []string) {
	return map[string]func(args []string){}
}

func builtinNames() []string {
	var names []string
	for n := range builtins() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// version is the kalm module's version, or the VCS revision of a devel build.
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
