package env_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// still is an env of one cell that never moves: the mandatory methods only.
type still struct{}

func (still) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	return &env.Spec{Name: "still", ObsDim: 1, ActionSpace: dataset.Space{Kind: dataset.Discrete, N: 1}, Horizon: 1,
		Levels: []string{"train"}, Policies: []string{"expert"}}, nil
}
func (still) Goals(context.Context, env.GoalsRequest) (*env.GoalsResponse, error) {
	return &env.GoalsResponse{}, nil
}
func (still) Reset(context.Context, env.ResetRequest) (*env.ResetResponse, error) {
	return &env.ResetResponse{}, nil
}
func (still) Step(context.Context, env.StepRequest) (*env.StepResponse, error) {
	return &env.StepResponse{}, nil
}
func (still) Judge(context.Context, env.JudgeRequest) (*env.JudgeResponse, error) {
	return &env.JudgeResponse{}, nil
}
func (still) Behave(context.Context, env.BehaveRequest) (*env.BehaveResponse, error) {
	return &env.BehaveResponse{}, nil
}

// scored is still with a plausibility rule and a picture.
type scored struct{ still }

var shares = []env.Share{
	{Name: "moved", Description: "the agent left its cell", Value: 0.25},
	{Name: "off_grid", Description: "the agent is off the grid", Value: 0},
}

func (scored) Plausibility(context.Context, env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	return &env.PlausibilityResponse{Shares: shares}, nil
}
func (scored) Render(context.Context, env.RenderRequest) (*env.RenderResponse, error) {
	return &env.RenderResponse{PNG: []byte("\x89PNG")}, nil
}

func client(t *testing.T, e env.Env) *env.Client {
	t.Helper()
	c, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{"env": &env.Plugin{Impl: e}})
	t.Cleanup(func() { c.Close() })
	raw, err := c.Dispense("env")
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*env.Client)
}

// TestOptionalCapabilities: over gRPC, an env without Render and
// Plausibility answers with ErrNoRender and ErrNoPlausibility, and one with
// them carries its named shares across unchanged.
func TestOptionalCapabilities(t *testing.T) {
	ctx := context.Background()
	bare := client(t, still{})
	if _, err := bare.Render(ctx, env.RenderRequest{Observation: []float32{0}}); !errors.Is(err, env.ErrNoRender) {
		t.Errorf("Render of an env without it: %v, want ErrNoRender", err)
	}
	if _, err := bare.Plausibility(ctx, env.PlausibilityRequest{Observations: []float32{0, 0}, Actions: []float32{0}}); !errors.Is(err, env.ErrNoPlausibility) {
		t.Errorf("Plausibility of an env without it: %v, want ErrNoPlausibility", err)
	}
	full := client(t, scored{})
	p, err := full.Plausibility(ctx, env.PlausibilityRequest{Observations: []float32{0, 0}, Actions: []float32{0}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Shares, shares) {
		t.Errorf("shares over gRPC = %+v, want %+v", p.Shares, shares)
	}
	if v, ok := p.Share("moved"); !ok || v != 0.25 {
		t.Errorf("Share(moved) = %g, %v", v, ok)
	}
	if _, err := full.Render(ctx, env.RenderRequest{Observation: []float32{0}}); err != nil {
		t.Errorf("Render: %v", err)
	}
}

func TestDescribeCapabilities(t *testing.T) {
	for _, c := range []struct {
		e    env.Env
		want bool
	}{{still{}, false}, {scored{}, true}} {
		_, caps, err := env.Describe(context.Background(), c.e)
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range []string{"render", "plausibility"} {
			if slices.Contains(caps, cp) != c.want {
				t.Errorf("%T: capabilities %v, want %q listed: %v", c.e, caps, cp, c.want)
			}
		}
	}
}
