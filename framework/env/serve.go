package env

import (
	"context"
	"fmt"

	"github.com/kalm-go/kalm/framework/plugin"
)

// Option configures Serve.
type Option = plugin.Option

// WithVersion sets the plugin version reported by `describe`.
func WithVersion(v string) Option { return plugin.WithVersion(v) }

// WithArgs sets the arguments Serve reads instead of os.Args[1:].
func WithArgs(args []string) Option { return plugin.WithArgs(args) }

// Serve serves e as a kalm env plugin over gRPC until the host goes away. Run
// with the single argument `describe`, it prints the plugin's description as
// JSON instead. A plugin's main is just:
//
//	func main() { env.Serve(myEnv{}) }
func Serve(e Env, opts ...Option) {
	plugin.Serve(plugin.Component{
		Kind:     plugin.Env,
		Describe: func(ctx context.Context) (string, []string, error) { return Describe(ctx, e) },
		Plugin:   &Plugin{Impl: e},
	}, opts...)
}

// Describe returns an env's name and capabilities as `describe` reports them.
func Describe(ctx context.Context, e Env) (string, []string, error) {
	s, err := e.Spec(ctx, SpecRequest{})
	if err != nil {
		return "", nil, err
	}
	caps := []string{"action:" + string(s.ActionSpace.Kind), fmt.Sprintf("obs:%d", s.ObsDim), fmt.Sprintf("goal:%d", s.GoalDim)}
	for _, l := range s.Levels {
		caps = append(caps, "level:"+l)
	}
	for _, p := range s.Policies {
		caps = append(caps, "policy:"+p)
	}
	if _, ok := e.(Configurer); ok {
		caps = append(caps, "configure")
	}
	if _, ok := e.(Parser); ok {
		caps = append(caps, "parse")
	}
	if _, ok := e.(Renderer); ok {
		caps = append(caps, "render")
	}
	if _, ok := e.(PlausibilityScorer); ok {
		caps = append(caps, "plausibility")
	}
	if _, ok := e.(BatchJudger); ok {
		caps = append(caps, "judge-batch")
	}
	return s.Name, caps, nil
}
