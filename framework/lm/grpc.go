package lm

import (
	"context"
	"encoding/json"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/internal/pb"
	"github.com/kalm-go/kalm/framework/plugin"
)

// Plugin is the go-plugin glue for language-model plugins. Impl is set only
// inside the plugin process; the host dispenses a *Client.
type Plugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Impl LM
}

var _ goplugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the implementation on the plugin's gRPC server.
func (p *Plugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterLMServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns the host-side client.
func (p *Plugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{c: pb.NewLMClient(c)}, nil
}

// Client is an LM in another process.
type Client struct {
	c pb.LMClient
}

var _ LM = (*Client)(nil)

func (c *Client) Ground(ctx context.Context, req GroundRequest, progress func(Progress)) (*GroundResult, error) {
	cfg, err := json.Marshal(req.Config)
	if err != nil {
		return nil, fmt.Errorf("ground: config: %w", err)
	}
	tasks := make([]string, len(req.Tasks))
	for i, t := range req.Tasks {
		tasks[i] = string(t)
	}
	st, err := c.c.Ground(ctx, &pb.GroundRequest{Base: req.Base, Datasets: req.Datasets, Tasks: tasks, ConfigJson: cfg,
		Steps: int64(req.Steps), OutDir: req.OutDir, Seed: req.Seed})
	if err != nil {
		return nil, plugin.Error(err)
	}
	var out *GroundResult
	err = plugin.Receive("ground", st.Recv, func(ev *pb.GroundEvent) (bool, error) {
		if p := ev.Progress; p != nil && progress != nil {
			progress(Progress{Step: int(p.Done), Total: int(p.Total), Metrics: p.Metrics})
		}
		if ev.Checkpoint == "" {
			return false, nil
		}
		out = &GroundResult{Checkpoint: ev.Checkpoint, Metrics: ev.Metrics}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) Generate(ctx context.Context, req GenerateRequest) (*GenerateResult, error) {
	r, err := c.c.Generate(ctx, &pb.GenerateRequest{Checkpoint: req.Checkpoint, Goals: pb.FromGoals(req.Goals),
		Observations: req.Observations, MaxSteps: int32(req.MaxSteps), Temperature: req.Temperature, Seed: req.Seed, Out: req.Out})
	if err != nil {
		return nil, plugin.Error(err)
	}
	var m dataset.Meta
	if err := json.Unmarshal(r.MetaJson, &m); err != nil {
		return nil, fmt.Errorf("generate: plugin sent bad metadata: %w", err)
	}
	return &GenerateResult{Meta: m}, nil
}

func (c *Client) Explain(ctx context.Context, req ExplainRequest) ([]string, error) {
	in := &pb.ExplainRequest{Checkpoint: req.Checkpoint, Seed: req.Seed}
	for _, e := range req.Rollouts {
		in.Rollouts = append(in.Rollouts, pb.FromEpisode(e))
	}
	r, err := c.c.Explain(ctx, in)
	if err != nil {
		return nil, plugin.Error(err)
	}
	return r.Texts, nil
}

func (c *Client) Predict(ctx context.Context, req PredictRequest) ([]float32, error) {
	r, err := c.c.Predict(ctx, &pb.PredictRequest{Checkpoint: req.Checkpoint, Observations: req.Observations, Actions: req.Actions})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return r.Observations, nil
}

func (c *Client) Encode(ctx context.Context, req EncodeRequest) (*EncodeResponse, error) {
	r, err := c.c.Encode(ctx, &pb.EncodeRequest{Checkpoint: req.Checkpoint, Texts: req.Texts})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &EncodeResponse{Dim: int(r.Dim), Vectors: r.Vectors}, nil
}

func (c *Client) Act(ctx context.Context, req ActRequest) ([]float32, error) {
	r, err := c.c.Act(ctx, &pb.LMActRequest{Checkpoint: req.Checkpoint, Observations: req.Observations, Goals: req.Goals, Seed: req.Seed})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return r.Actions, nil
}

// server adapts an LM to the generated gRPC service.
type server struct {
	pb.UnimplementedLMServer
	impl LM
}

func (s *server) Ground(r *pb.GroundRequest, st pb.LM_GroundServer) error {
	req := GroundRequest{Base: r.Base, Datasets: r.Datasets, Steps: int(r.Steps), OutDir: r.OutDir, Seed: r.Seed}
	for _, t := range r.Tasks {
		req.Tasks = append(req.Tasks, Task(t))
	}
	if len(r.ConfigJson) > 0 {
		if err := json.Unmarshal(r.ConfigJson, &req.Config); err != nil {
			return plugin.Status(fmt.Errorf("ground: config: %w", err))
		}
	}
	var sendErr error
	res, err := s.impl.Ground(st.Context(), req, func(p Progress) {
		if sendErr == nil {
			sendErr = st.Send(&pb.GroundEvent{Progress: &pb.Progress{Done: int64(p.Step), Total: int64(p.Total), Metrics: p.Metrics}})
		}
	})
	if err != nil {
		return plugin.Status(err)
	}
	if sendErr != nil {
		return sendErr
	}
	if res.Checkpoint == "" {
		return plugin.Status(fmt.Errorf("ground: the backend returned no checkpoint"))
	}
	return st.Send(&pb.GroundEvent{Checkpoint: res.Checkpoint, Metrics: res.Metrics})
}

func (s *server) Generate(ctx context.Context, r *pb.GenerateRequest) (*pb.GenerateResponse, error) {
	res, err := s.impl.Generate(ctx, GenerateRequest{Checkpoint: r.Checkpoint, Goals: pb.ToGoals(r.Goals), Observations: r.Observations,
		MaxSteps: int(r.MaxSteps), Temperature: r.Temperature, Seed: r.Seed, Out: r.Out})
	if err != nil {
		return nil, plugin.Status(err)
	}
	b, err := json.Marshal(res.Meta)
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.GenerateResponse{MetaJson: b}, nil
}

func (s *server) Explain(ctx context.Context, r *pb.ExplainRequest) (*pb.ExplainResponse, error) {
	req := ExplainRequest{Checkpoint: r.Checkpoint, Seed: r.Seed}
	for _, e := range r.Rollouts {
		req.Rollouts = append(req.Rollouts, pb.ToEpisode(e))
	}
	texts, err := s.impl.Explain(ctx, req)
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.ExplainResponse{Texts: texts}, nil
}

func (s *server) Predict(ctx context.Context, r *pb.PredictRequest) (*pb.PredictResponse, error) {
	obs, err := s.impl.Predict(ctx, PredictRequest{Checkpoint: r.Checkpoint, Observations: r.Observations, Actions: r.Actions})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.PredictResponse{Observations: obs}, nil
}

func (s *server) Encode(ctx context.Context, r *pb.EncodeRequest) (*pb.EncodeResponse, error) {
	out, err := s.impl.Encode(ctx, EncodeRequest{Checkpoint: r.Checkpoint, Texts: r.Texts})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.EncodeResponse{Dim: int32(out.Dim), Vectors: out.Vectors}, nil
}

func (s *server) Act(ctx context.Context, r *pb.LMActRequest) (*pb.ActResponse, error) {
	a, err := s.impl.Act(ctx, ActRequest{Checkpoint: r.Checkpoint, Observations: r.Observations, Goals: r.Goals, Seed: r.Seed})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.ActResponse{Actions: a}, nil
}
