package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// pluginFlags are the flags every command that launches plugins takes.
type pluginFlags struct {
	dirs    stringList
	pins    stringList
	threads int
}

func (p *pluginFlags) register(fs *flag.FlagSet) {
	fs.Var(&p.dirs, "plugin-dir", "a directory to search for kalm-plugin-* binaries (repeatable; then $KALM_PLUGIN_PATH, ~/.kalm/plugins)")
	fs.Var(&p.pins, "pin", "NAME=SHA256: refuse plugin NAME unless its binary has this SHA-256 (repeatable; also $KALM_PLUGIN_PINS, comma-separated)")
	fs.IntVar(&p.threads, "plugin-threads", 1, "BLAS/Go threads per plugin process")
}

// pinMap parses the -pin flags and $KALM_PLUGIN_PINS.
func (p *pluginFlags) pinMap() (map[string]string, error) {
	pins := map[string]string{}
	all := append(splitAll([]string{os.Getenv("KALM_PLUGIN_PINS")}), p.pins...)
	for _, kv := range all {
		name, sum, ok := strings.Cut(kv, "=")
		if !ok || name == "" || len(sum) != 64 || strings.Trim(strings.ToLower(sum), "0123456789abcdef") != "" {
			return nil, fmt.Errorf("plugin pin %q: want NAME=SHA256 with 64 hex digits (sha256sum prints them)", kv)
		}
		pins[name] = strings.ToLower(sum)
	}
	return pins, nil
}

func (p *pluginFlags) registry(stderr io.Writer) (*registry.Registry, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the kalm binary to serve built-in plugins: %w", err)
	}
	pins, err := p.pinMap()
	if err != nil {
		return nil, err
	}
	return registry.New(registry.Config{
		Pins:        pins,
		Dirs:        registry.DefaultDirs(p.dirs),
		Self:        []string{self},
		Builtins:    builtinNames(),
		Threads:     p.threads,
		Unavailable: unavailableBuiltins(),
	}), nil
}

func cmdPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("plugins", "[flags] [NAME]", stdout)
	var pf pluginFlags
	pf.register(fs)
	format := fs.String("format", "table", "output format: table or markdown")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	reg, err := pf.registry(stderr)
	if err != nil {
		return err
	}
	opts := []tablewriter.Option{tablewriter.WithHeaderAutoFormat(tw.Off)}
	if *format == "markdown" {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	} else if *format != "table" {
		return fmt.Errorf("-format %q: want table or markdown", *format)
	}
	switch fs.NArg() {
	case 0:
	case 1:
		return showPlugin(ctx, reg, fs.Arg(0), stdout, opts)
	default:
		return badUsage(fs, "want at most one plugin NAME, got %q", fs.Args())
	}
	ps, listErr := reg.List(ctx)
	t := tablewriter.NewTable(stdout, opts...)
	t.Header("name", "kind", "version", "path", "capabilities")
	for _, p := range ps {
		path := p.Path
		if p.Builtin {
			path = "(built in)"
		}
		if err := t.Append(p.Name, string(p.Kind), p.Version, path, strings.Join(p.Capabilities, " ")); err != nil {
			return err
		}
	}
	// Built-ins this build lacks, with what they need (tabletop without MuJoCo).
	for _, name := range slices.Sorted(maps.Keys(unavailableBuiltins())) {
		if !slices.ContainsFunc(ps, func(p *registry.Plugin) bool { return p.Name == name }) {
			if err := t.Append(name, "env", "unavailable", "(not built in)", unavailableBuiltins()[name]); err != nil {
				return err
			}
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if listErr != nil {
		return fmt.Errorf("some plugins could not be loaded:\n%w", listErr)
	}
	return nil
}

// showPlugin prints what one plugin declares: for an algorithm, its
// hyper-parameters with types, defaults and help (what --set and an
// experiment's hyper block accept).
func showPlugin(ctx context.Context, reg *registry.Registry, name string, stdout io.Writer, opts []tablewriter.Option) error {
	p, err := reg.Find(ctx, name)
	if err != nil {
		return err
	}
	path := p.Path
	if p.Builtin {
		path = "(built in)"
	}
	fmt.Fprintf(stdout, "%s: %s plugin, version %s, %s\ncapabilities: %s\n", p.Name, p.Kind, p.Version, path, strings.Join(p.Capabilities, " "))
	var s *algo.Schema
	switch p.Kind {
	case plugin.Algo:
		in, err := reg.Launch(ctx, name, plugin.Algo)
		if err != nil {
			return err
		}
		defer in.Close()
		a, err := in.Algo()
		if err != nil {
			return err
		}
		if s, err = a.Schema(ctx, algo.SchemaRequest{}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "\nhyper-parameters:")
	case plugin.LM:
		in, err := reg.Launch(ctx, name, plugin.LM)
		if err != nil {
			return err
		}
		defer in.Close()
		m, err := in.LM()
		if err != nil {
			return err
		}
		if s, err = m.Schema(ctx, lm.SchemaRequest{}); errors.Is(err, lm.ErrNoSchema) {
			return nil
		} else if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "\nsettings (lm.config):")
	default:
		return nil
	}
	t := tablewriter.NewTable(stdout, opts...)
	t.Header("name", "type", "default", "help")
	for _, q := range s.Params {
		help := q.Help
		if len(q.Allowed) > 0 {
			help += " (one of: " + strings.Join(q.Allowed, ", ") + ")"
		}
		if err := t.Append(q.Name, string(q.Type), fmt.Sprint(q.Default), help); err != nil {
			return err
		}
	}
	return t.Render()
}

func cmdPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "serve" {
		return fmt.Errorf("usage: kalm plugin serve NAME [describe]")
	}
	serve, ok := builtins()[args[1]]
	if !ok {
		return fmt.Errorf("no built-in plugin %q (built in: %s)", args[1], strings.Join(builtinNames(), ", "))
	}
	serve.serve(args[2:])
	return nil
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, version())
	return nil
}
