package experiments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/kalm-go/kalm/framework/plugin"
)

// StageDescription is a stage as another process rebuilds it: everything
// an executor reads, in JSON. A worker (`kalm stage exec`, on this machine
// or a cluster node) runs a stage from its description alone, without the
// experiment file or the plan.
type StageDescription struct {
	Key     string              `json:"key"`
	Kind    StageKind           `json:"kind"`
	Plugins []PluginDescription `json:"plugins"`
	// Config is the kind's config struct (CollectConfig, TrainConfig...).
	Config json.RawMessage `json:"config"`
	// DataPath is CollectConfig.Path, which the key leaves out.
	DataPath string       `json:"data_path,omitempty"`
	Inputs   []StageInput `json:"inputs"`
	Seed     uint64       `json:"seed"`
}

// PluginDescription is a PluginRef with its thread count, which the key
// leaves out.
type PluginDescription struct {
	Kind    plugin.Kind `json:"kind"`
	Name    string      `json:"name"`
	Version string      `json:"version"`
	Threads int         `json:"threads,omitempty"`
}

// StageInput is an input of a stage: its key and kind, which locate its
// artifact (WorkDir/artifacts/KIND/KEY).
type StageInput struct {
	Key  string    `json:"key"`
	Kind StageKind `json:"kind"`
}

// configTypes gives each stage kind's config type.
var configTypes = map[StageKind]func() any{
	Collect:  func() any { return new(CollectConfig) },
	Ground:   func() any { return new(GroundConfig) },
	Imagine:  func() any { return new(ImagineConfig) },
	Assess:   func() any { return new(AssessConfig) },
	Encode:   func() any { return new(EncodeConfig) },
	Train:    func() any { return new(TrainConfig) },
	Evaluate: func() any { return new(EvalConfig) },
}

// Describe returns the description of the plan's stage st.
func (p *Plan) Describe(st *Stage) (*StageDescription, error) {
	cfg, err := json.Marshal(st.Config)
	if err != nil {
		return nil, fmt.Errorf("stage %s: config: %w", st.Key, err)
	}
	d := &StageDescription{Key: st.Key, Kind: st.Kind, Config: cfg, Seed: st.Seed}
	if c, ok := st.Config.(CollectConfig); ok {
		d.DataPath = c.Path
	}
	for _, r := range st.Plugins {
		d.Plugins = append(d.Plugins, PluginDescription(r))
	}
	for _, in := range st.Inputs {
		is := p.Stage(in)
		if is == nil {
			return nil, fmt.Errorf("stage %s: input %s is not in the plan", st.Key, in)
		}
		d.Inputs = append(d.Inputs, StageInput{Key: in, Kind: is.Kind})
	}
	return d, nil
}

// Stage rebuilds the stage: its config as the kind's config struct. It
// refuses a description whose content does not hash to its key (an edited
// or truncated file, or one written by a kalm whose stages differ).
func (d *StageDescription) Stage() (*Stage, error) {
	newConfig, ok := configTypes[d.Kind]
	if !ok {
		return nil, fmt.Errorf("stage %s: unknown kind %q (expected one of %v)", d.Key, d.Kind, StageKinds)
	}
	cfg := newConfig()
	dec := json.NewDecoder(bytes.NewReader(d.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("stage %s: %s config: %w", d.Key, d.Kind, err)
	}
	if c, ok := cfg.(*CollectConfig); ok {
		c.Path = d.DataPath
	}
	st := &Stage{Key: d.Key, Kind: d.Kind, Seed: d.Seed, Config: reflect.ValueOf(cfg).Elem().Interface()}
	for _, r := range d.Plugins {
		st.Plugins = append(st.Plugins, PluginRef(r))
	}
	for _, in := range d.Inputs {
		st.Inputs = append(st.Inputs, in.Key)
	}
	if k := StageKey(st); k != d.Key {
		return nil, fmt.Errorf("stage %s: its description hashes to %s, not to its key (edited, or written by another kalm version)", d.Key, k)
	}
	return st, nil
}
