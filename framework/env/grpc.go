package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/internal/pb"
	"github.com/kalm-go/kalm/framework/plugin"
)

// Plugin is the go-plugin glue for env plugins. Impl is set only inside the
// plugin process; the host dispenses a *Client.
type Plugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Impl Env
}

var _ goplugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the implementation on the plugin's gRPC server.
func (p *Plugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterEnvServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns the host-side client.
func (p *Plugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{c: pb.NewEnvClient(c)}, nil
}

// Client is an Env in another process. It also runs Collect inside that
// process and passes configuration to it.
type Client struct {
	c pb.EnvClient
	// noBatch is set once the plugin answered JudgeBatch with
	// Unimplemented (a binary built before it): Judge each rollout instead.
	noBatch atomic.Bool
}

var (
	_ Env                = (*Client)(nil)
	_ Configurer         = (*Client)(nil)
	_ Parser             = (*Client)(nil)
	_ Renderer           = (*Client)(nil)
	_ PlausibilityScorer = (*Client)(nil)
	_ BatchJudger        = (*Client)(nil)
)

// The errors a Client's optional methods return (wrapped) when the plugin's
// env lacks the capability; test for them with errors.Is.
var (
	// ErrNoParser: the env does not implement [Parser].
	ErrNoParser = errors.New("the env reads no goal texts (it does not implement env.Parser)")
	// ErrNoRender: the env does not implement [Renderer].
	ErrNoRender = errors.New("this env does not render (it does not implement env.Renderer)")
	// ErrNoPlausibility: the env does not implement [PlausibilityScorer].
	ErrNoPlausibility = errors.New("this env scores no plausibility (it does not implement env.PlausibilityScorer)")
)

func (c *Client) Spec(ctx context.Context, _ SpecRequest) (*Spec, error) {
	r, err := c.c.Spec(ctx, &pb.SpecRequest{})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &Spec{Name: r.Name, ObsDim: int(r.ObsDim), ActionSpace: pb.ToSpace(r.ActionSpace), GoalDim: int(r.GoalDim),
		Horizon: int(r.Horizon), Levels: r.Levels, Policies: r.Policies, Config: r.Config}, nil
}

func (c *Client) Configure(ctx context.Context, req ConfigureRequest) (*ConfigureResponse, error) {
	if _, err := c.c.Configure(ctx, &pb.ConfigureRequest{Config: req.Config}); err != nil {
		return nil, plugin.Error(err)
	}
	return &ConfigureResponse{}, nil
}

func (c *Client) ParseGoals(ctx context.Context, req ParseGoalsRequest) (*ParseGoalsResponse, error) {
	r, err := c.c.ParseGoals(ctx, &pb.ParseGoalsRequest{Texts: req.Texts})
	if status.Code(err) == codes.Unimplemented {
		return nil, fmt.Errorf("parse goals: %w", ErrNoParser)
	}
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &ParseGoalsResponse{Goals: pb.ToGoals(r.Goals), Errors: r.Errors}, nil
}

func (c *Client) Goals(ctx context.Context, req GoalsRequest) (*GoalsResponse, error) {
	r, err := c.c.Goals(ctx, &pb.GoalsRequest{Level: req.Level, N: int32(req.N), Seed: req.Seed})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &GoalsResponse{Goals: pb.ToGoals(r.Goals)}, nil
}

func (c *Client) Reset(ctx context.Context, req ResetRequest) (*ResetResponse, error) {
	r, err := c.c.Reset(ctx, &pb.ResetRequest{Seed: req.Seed, Goals: pb.FromGoals(req.Goals), Observations: req.Observations})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &ResetResponse{Observations: r.Observations}, nil
}

func (c *Client) Step(ctx context.Context, req StepRequest) (*StepResponse, error) {
	r, err := c.c.Step(ctx, &pb.StepRequest{Actions: req.Actions})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &StepResponse{Observations: r.Observations, Rewards: r.Rewards, Terminals: r.Terminals,
		Timeouts: r.Timeouts, Success: r.Success, Done: r.Done}, nil
}

func (c *Client) Judge(ctx context.Context, req JudgeRequest) (*JudgeResponse, error) {
	r, err := c.c.Judge(ctx, judgeToPB(req))
	if err != nil {
		return nil, plugin.Error(err)
	}
	j := verdictFromPB(r)
	return &j, nil
}

// judgeChunk bounds the observation and action bytes one JudgeBatch RPC
// carries, well inside the message cap; a larger batch (10,000 rollouts of
// long histories) goes in several calls. A variable for the tests.
var judgeChunk = plugin.MaxMessageSize / 4

// JudgeBatch judges every rollout in one RPC (several for a batch above
// judgeChunk). Against a plugin built before the RPC existed it falls back
// to one Judge call per rollout.
func (c *Client) JudgeBatch(ctx context.Context, req JudgeBatchRequest) (*JudgeBatchResponse, error) {
	if c.noBatch.Load() {
		return judgeEach(ctx, c, req)
	}
	out := &JudgeBatchResponse{Results: make([]JudgeResponse, 0, len(req.Rollouts))}
	for start := 0; ; {
		end, size := start, 0
		for end < len(req.Rollouts) {
			ro := req.Rollouts[end]
			size += 4 * (len(ro.Observations) + len(ro.Actions))
			if end > start && size > judgeChunk {
				break
			}
			end++
		}
		in := &pb.JudgeBatchRequest{Rollouts: make([]*pb.JudgeRequest, end-start)}
		for i, ro := range req.Rollouts[start:end] {
			in.Rollouts[i] = judgeToPB(ro)
		}
		r, err := c.c.JudgeBatch(ctx, in)
		if start == 0 && status.Code(err) == codes.Unimplemented {
			c.noBatch.Store(true)
			return judgeEach(ctx, c, req)
		}
		if err != nil {
			return nil, plugin.Error(err)
		}
		if f := r.Failed; f != nil {
			return nil, &RolloutError{Index: start + int(f.Index), Err: &plugin.RemoteError{Code: codes.Unknown.String(), Msg: f.Message}}
		}
		for _, j := range r.Results {
			out.Results = append(out.Results, verdictFromPB(j))
		}
		if start = end; start == len(req.Rollouts) {
			return out, nil
		}
	}
}

func judgeToPB(req JudgeRequest) *pb.JudgeRequest {
	return &pb.JudgeRequest{Goal: pb.FromGoal(req.Goal), Observations: req.Observations, Actions: req.Actions}
}

func verdictFromPB(r *pb.JudgeResponse) JudgeResponse {
	return JudgeResponse{Rewards: r.Rewards, Terminals: r.Terminals, Success: r.Success, Steps: int(r.Steps)}
}

func (c *Client) Behave(ctx context.Context, req BehaveRequest) (*BehaveResponse, error) {
	r, err := c.c.Behave(ctx, &pb.BehaveRequest{Policy: req.Policy, Observations: req.Observations,
		Goals: pb.FromGoals(req.Goals), Params: req.Params, Seed: req.Seed})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &BehaveResponse{Actions: r.Actions}, nil
}

func (c *Client) Plausibility(ctx context.Context, req PlausibilityRequest) (*PlausibilityResponse, error) {
	r, err := c.c.Plausibility(ctx, &pb.PlausibilityRequest{Observations: req.Observations, Actions: req.Actions})
	if status.Code(err) == codes.Unimplemented {
		return nil, fmt.Errorf("plausibility: %w", ErrNoPlausibility)
	}
	if err != nil {
		return nil, plugin.Error(err)
	}
	out := &PlausibilityResponse{Shares: make([]Share, len(r.Shares))}
	for i, s := range r.Shares {
		out.Shares[i] = Share{Name: s.Name, Description: s.Description, Value: s.Value}
	}
	return out, nil
}

func (c *Client) Render(ctx context.Context, req RenderRequest) (*RenderResponse, error) {
	r, err := c.c.Render(ctx, &pb.RenderRequest{Observation: req.Observation, Caption: req.Caption, Width: int32(req.Width)})
	if status.Code(err) == codes.Unimplemented {
		return nil, fmt.Errorf("render: %w", ErrNoRender)
	}
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &RenderResponse{PNG: r.Png}, nil
}

// Collect runs env.Collect inside the plugin process, so no step crosses
// the process boundary, and streams its progress.
func (c *Client) Collect(ctx context.Context, req CollectRequest, progress func(Progress)) (*CollectResponse, error) {
	st, err := c.c.Collect(ctx, &pb.CollectRequest{Episodes: int32(req.Episodes), Level: req.Level, Policy: req.Policy,
		Params: req.Params, Seed: req.Seed, Batch: int32(req.Batch), Out: req.Out})
	if err != nil {
		return nil, plugin.Error(err)
	}
	var m dataset.Meta
	err = plugin.Receive("collect", st.Recv, func(ev *pb.CollectEvent) (bool, error) {
		if p := ev.Progress; p != nil && progress != nil {
			progress(Progress{Done: int(p.Done), Total: int(p.Total), Metrics: p.Metrics})
		}
		if len(ev.MetaJson) == 0 {
			return false, nil
		}
		if err := json.Unmarshal(ev.MetaJson, &m); err != nil {
			return true, fmt.Errorf("collect: plugin sent bad metadata: %w", err)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &CollectResponse{Meta: m}, nil
}

// server adapts an Env to the generated gRPC service.
type server struct {
	pb.UnimplementedEnvServer
	impl Env
}

func (s *server) Spec(ctx context.Context, _ *pb.SpecRequest) (*pb.EnvSpec, error) {
	sp, err := s.impl.Spec(ctx, SpecRequest{})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.EnvSpec{Name: sp.Name, ObsDim: int32(sp.ObsDim), ActionSpace: pb.FromSpace(sp.ActionSpace), GoalDim: int32(sp.GoalDim),
		Horizon: int32(sp.Horizon), Levels: sp.Levels, Policies: sp.Policies, Config: sp.Config}, nil
}

func (s *server) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	c, ok := s.impl.(Configurer)
	if !ok {
		if len(r.Config) > 0 {
			return nil, plugin.Status(fmt.Errorf("this env takes no configuration, got keys %v", keys(r.Config)))
		}
		return &pb.ConfigureResponse{}, nil
	}
	if _, err := c.Configure(ctx, ConfigureRequest{Config: r.Config}); err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.ConfigureResponse{}, nil
}

func (s *server) Goals(ctx context.Context, r *pb.GoalsRequest) (*pb.GoalsResponse, error) {
	out, err := s.impl.Goals(ctx, GoalsRequest{Level: r.Level, N: int(r.N), Seed: r.Seed})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.GoalsResponse{Goals: pb.FromGoals(out.Goals)}, nil
}

func (s *server) Reset(ctx context.Context, r *pb.ResetRequest) (*pb.ResetResponse, error) {
	out, err := s.impl.Reset(ctx, ResetRequest{Seed: r.Seed, Goals: pb.ToGoals(r.Goals), Observations: r.Observations})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.ResetResponse{Observations: out.Observations}, nil
}

func (s *server) Step(ctx context.Context, r *pb.StepRequest) (*pb.StepResponse, error) {
	out, err := s.impl.Step(ctx, StepRequest{Actions: r.Actions})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.StepResponse{Observations: out.Observations, Rewards: out.Rewards, Terminals: out.Terminals,
		Timeouts: out.Timeouts, Success: out.Success, Done: out.Done}, nil
}

func (s *server) Judge(ctx context.Context, r *pb.JudgeRequest) (*pb.JudgeResponse, error) {
	out, err := s.impl.Judge(ctx, judgeFromPB(r))
	if err != nil {
		return nil, plugin.Status(err)
	}
	return verdictToPB(out), nil
}

// JudgeBatch serves every env: by its own BatchJudger where it has one,
// otherwise by its Judge on each rollout in turn.
func (s *server) JudgeBatch(ctx context.Context, r *pb.JudgeBatchRequest) (*pb.JudgeBatchResponse, error) {
	req := JudgeBatchRequest{Rollouts: make([]JudgeRequest, len(r.Rollouts))}
	for i, ro := range r.Rollouts {
		req.Rollouts[i] = judgeFromPB(ro)
	}
	out, err := JudgeBatch(ctx, s.impl, req)
	var re *RolloutError
	switch {
	case errors.As(err, &re) && ctx.Err() == nil:
		// One rollout was at fault: say which in the response, as a status
		// would lose the index on its way through the host's interceptors.
		return &pb.JudgeBatchResponse{Failed: &pb.RolloutError{Index: int32(re.Index), Message: re.Err.Error()}}, nil
	case err != nil:
		return nil, plugin.Status(err)
	}
	res := make([]*pb.JudgeResponse, len(out.Results))
	for i := range out.Results {
		res[i] = verdictToPB(&out.Results[i])
	}
	return &pb.JudgeBatchResponse{Results: res}, nil
}

func judgeFromPB(r *pb.JudgeRequest) JudgeRequest {
	return JudgeRequest{Goal: pb.ToGoal(r.Goal), Observations: r.Observations, Actions: r.Actions}
}

func verdictToPB(j *JudgeResponse) *pb.JudgeResponse {
	return &pb.JudgeResponse{Rewards: j.Rewards, Terminals: j.Terminals, Success: j.Success, Steps: int32(j.Steps)}
}

func (s *server) Behave(ctx context.Context, r *pb.BehaveRequest) (*pb.BehaveResponse, error) {
	out, err := s.impl.Behave(ctx, BehaveRequest{Policy: r.Policy, Observations: r.Observations, Goals: pb.ToGoals(r.Goals), Params: r.Params, Seed: r.Seed})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.BehaveResponse{Actions: out.Actions}, nil
}

func (s *server) Plausibility(ctx context.Context, r *pb.PlausibilityRequest) (*pb.PlausibilityResponse, error) {
	p, ok := s.impl.(PlausibilityScorer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, ErrNoPlausibility.Error())
	}
	out, err := p.Plausibility(ctx, PlausibilityRequest{Observations: r.Observations, Actions: r.Actions})
	if err != nil {
		return nil, plugin.Status(err)
	}
	shares := make([]*pb.Share, len(out.Shares))
	for i, sh := range out.Shares {
		shares[i] = &pb.Share{Name: sh.Name, Description: sh.Description, Value: sh.Value}
	}
	return &pb.PlausibilityResponse{Shares: shares}, nil
}

func (s *server) Render(ctx context.Context, r *pb.RenderRequest) (*pb.RenderResponse, error) {
	rd, ok := s.impl.(Renderer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, ErrNoRender.Error())
	}
	out, err := rd.Render(ctx, RenderRequest{Observation: r.Observation, Caption: r.Caption, Width: int(r.Width)})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.RenderResponse{Png: out.PNG}, nil
}

func (s *server) ParseGoals(ctx context.Context, r *pb.ParseGoalsRequest) (*pb.ParseGoalsResponse, error) {
	p, ok := s.impl.(Parser)
	if !ok {
		return nil, status.Error(codes.Unimplemented, ErrNoParser.Error())
	}
	out, err := p.ParseGoals(ctx, ParseGoalsRequest{Texts: r.Texts})
	if err != nil {
		return nil, plugin.Status(err)
	}
	if len(out.Goals) != len(r.Texts) || len(out.Errors) != len(r.Texts) {
		return nil, plugin.Status(fmt.Errorf("parse goals: the env returned %d goals and %d errors for %d texts", len(out.Goals), len(out.Errors), len(r.Texts)))
	}
	return &pb.ParseGoalsResponse{Goals: pb.FromGoals(out.Goals), Errors: out.Errors}, nil
}

func (s *server) Collect(r *pb.CollectRequest, st pb.Env_CollectServer) error {
	var sendErr error
	res, err := Collect(st.Context(), s.impl, CollectRequest{Episodes: int(r.Episodes), Level: r.Level, Policy: r.Policy,
		Params: r.Params, Seed: r.Seed, Batch: int(r.Batch), Out: r.Out}, func(p Progress) {
		if sendErr == nil {
			sendErr = st.Send(&pb.CollectEvent{Progress: &pb.Progress{Done: int64(p.Done), Total: int64(p.Total), Metrics: p.Metrics}})
		}
	})
	if err != nil {
		return plugin.Status(err)
	}
	if sendErr != nil {
		return sendErr
	}
	b, err := json.Marshal(res.Meta)
	if err != nil {
		return plugin.Status(err)
	}
	return st.Send(&pb.CollectEvent{MetaJson: b})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
