package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// Launcher starts plugin processes.
type Launcher interface {
	// Launch starts the plugin name of kind and connects to it.
	Launch(ctx context.Context, kind plugin.Kind, name string) (*Handle, error)
}

// ThreadLauncher is a Launcher that can give one plugin its own thread
// count instead of the one every plugin gets (lm.threads).
type ThreadLauncher interface {
	LaunchThreads(ctx context.Context, kind plugin.Kind, name string, threads int) (*Handle, error)
}

// Handle is a running plugin: the client of its kind, its last log lines,
// and how to stop it.
type Handle struct {
	Name string
	// Exactly one of Env, Algo and LM is set, by kind.
	Env  env.Env
	Algo algo.Algo
	LM   lm.LM
	// Logs returns the plugin's last log lines (may be nil).
	Logs func() []string
	// Close stops the plugin.
	Close func() error
}

// collector is an env client that runs the collect loop inside the plugin
// (env.Client does); other envs are collected step by step over RPC.
type collector interface {
	Collect(ctx context.Context, req env.CollectRequest, progress func(env.Progress)) (*env.CollectResponse, error)
}

// Registry adapts a plugin registry to the runner's Launcher and the
// planner's Catalog. Describing an env or algo plugin starts it once to ask
// for its spec or schema; the answer is cached.
type Registry struct {
	Reg *registry.Registry

	mu    sync.Mutex
	cache map[string]experiments.PluginInfo
}

// NewRegistry wraps reg.
func NewRegistry(reg *registry.Registry) *Registry {
	return &Registry{Reg: reg, cache: map[string]experiments.PluginInfo{}}
}

// Launch implements Launcher.
func (r *Registry) Launch(ctx context.Context, kind plugin.Kind, name string) (*Handle, error) {
	return r.LaunchThreads(ctx, kind, name, 0)
}

// LaunchThreads implements ThreadLauncher: threads ≤ 0 is the registry's
// thread count.
func (r *Registry) LaunchThreads(ctx context.Context, kind plugin.Kind, name string, threads int) (*Handle, error) {
	in, err := r.Reg.Launch(ctx, name, kind, registry.WithThreads(threads))
	if err != nil {
		return nil, err
	}
	h := &Handle{Name: name, Logs: in.Logs, Close: in.Close}
	switch kind {
	case plugin.Env:
		h.Env, err = in.Env()
	case plugin.Algo:
		h.Algo, err = in.Algo()
	case plugin.LM:
		h.LM, err = in.LM()
	default:
		err = fmt.Errorf("unknown plugin kind %q", kind)
	}
	if err != nil {
		in.Close()
		return nil, err
	}
	return h, nil
}

// Describe implements experiments.Catalog.
func (r *Registry) Describe(ctx context.Context, kind plugin.Kind, name string) (experiments.PluginInfo, error) {
	id := string(kind) + "/" + name
	r.mu.Lock()
	if info, ok := r.cache[id]; ok {
		r.mu.Unlock()
		return info, nil
	}
	r.mu.Unlock()
	p, err := r.Reg.Find(ctx, name)
	if err != nil {
		if errors.Is(err, registry.ErrNotInstalled) {
			return experiments.PluginInfo{}, &experiments.NotInstalledError{Kind: kind, Name: name, Installed: r.Reg.Names()}
		}
		return experiments.PluginInfo{}, err
	}
	info := experiments.PluginInfo{Kind: p.Kind, Name: p.Name, Version: p.Version, Path: p.Path}
	if sum, err := registry.Checksum(p.Path); err == nil {
		info.Checksum = sum
	}
	if p.Kind != kind {
		return info, nil // Plan reports the kind mismatch
	}
	switch kind {
	case plugin.Env:
		h, err := r.Launch(ctx, kind, name)
		if err != nil {
			return info, err
		}
		spec, err := h.Env.Spec(ctx, env.SpecRequest{})
		h.Close()
		if err != nil {
			return info, fmt.Errorf("plugin %s: spec: %w", name, err)
		}
		info.Env = spec
	case plugin.Algo:
		h, err := r.Launch(ctx, kind, name)
		if err != nil {
			return info, err
		}
		schema, err := h.Algo.Schema(ctx, algo.SchemaRequest{})
		h.Close()
		if err != nil {
			return info, fmt.Errorf("plugin %s: schema: %w", name, err)
		}
		info.Schema = schema
	case plugin.LM:
		h, err := r.Launch(ctx, kind, name)
		if err != nil {
			return info, err
		}
		// A backend that declares no settings keeps lm.config as given.
		var schema *algo.Schema
		if sc, ok := h.LM.(lm.Schemer); ok {
			schema, err = sc.Schema(ctx, lm.SchemaRequest{})
		}
		h.Close()
		if err != nil && !errors.Is(err, lm.ErrNoSchema) {
			return info, fmt.Errorf("plugin %s: schema: %w", name, err)
		}
		info.Schema = schema
	}
	r.mu.Lock()
	r.cache[id] = info
	r.mu.Unlock()
	return info, nil
}

// CheckEnvConfig implements experiments.ConfigChecker: it starts the env
// plugin and configures it with config.
func (r *Registry) CheckEnvConfig(ctx context.Context, name string, config map[string]string) error {
	h, err := r.Launch(ctx, plugin.Env, name)
	if err != nil {
		return err
	}
	defer h.Close()
	c, ok := h.Env.(env.Configurer)
	if !ok {
		return fmt.Errorf("env %s takes no configuration", name)
	}
	_, err = c.Configure(ctx, env.ConfigureRequest{Config: config})
	return err
}

// Version implements the worker's check that a plugin is the version its
// stage was planned with (a cluster node may have another installed).
func (r *Registry) Version(ctx context.Context, name string) (string, error) {
	p, err := r.Reg.Find(ctx, name)
	if err != nil {
		return "", err
	}
	return p.Version, nil
}
