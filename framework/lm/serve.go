package lm

import (
	"context"

	"github.com/kalm-go/kalm/framework/plugin"
)

// Option configures Serve.
type Option = plugin.Option

// WithVersion sets the plugin version reported by `describe`.
func WithVersion(v string) Option { return plugin.WithVersion(v) }

// WithArgs sets the arguments Serve reads instead of os.Args[1:].
func WithArgs(args []string) Option { return plugin.WithArgs(args) }

// Describer is implemented by backends that name themselves and their
// capabilities (the KALM tasks they ground on, for instance).
type Describer interface {
	Describe(ctx context.Context) (name string, capabilities []string, err error)
}

// Serve serves m as a kalm language-model plugin over gRPC until the host
// goes away; with the argument `describe` it prints its description as JSON.
// m should implement Describer; otherwise the binary name is its name.
func Serve(m LM, opts ...Option) {
	plugin.Serve(plugin.Component{
		Kind: plugin.LM,
		Describe: func(ctx context.Context) (string, []string, error) {
			if d, ok := m.(Describer); ok {
				return d.Describe(ctx)
			}
			return "", nil, nil
		},
		Plugin: &Plugin{Impl: m},
	}, opts...)
}
