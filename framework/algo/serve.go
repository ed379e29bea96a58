package algo

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

// Serve serves a as a kalm algorithm plugin over gRPC until the host goes
// away. Run with the single argument `describe`, it prints the plugin's
// description as JSON instead. A plugin's main is just:
//
//	func main() { algo.Serve(myAlgo{}) }
func Serve(a Algo, opts ...Option) {
	plugin.Serve(plugin.Component{
		Kind:     plugin.Algo,
		Describe: func(ctx context.Context) (string, []string, error) { return Describe(ctx, a) },
		Plugin:   &Plugin{Impl: a},
	}, opts...)
}

// Describe returns an algorithm's name and capabilities as `describe` reports them.
func Describe(ctx context.Context, a Algo) (string, []string, error) {
	s, err := a.Schema(ctx, SchemaRequest{})
	if err != nil {
		return "", nil, err
	}
	var caps []string
	for _, k := range s.Spaces {
		caps = append(caps, "action:"+string(k))
	}
	return s.Name, caps, nil
}
