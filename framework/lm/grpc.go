package lm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

var (
	_ LM      = (*Client)(nil)
	_ Schemer = (*Client)(nil)
)

// ErrNoSchema is returned (wrapped) by Client.Schema when the backend does
// not implement [Schemer].
var ErrNoSchema = errors.New("the backend declares no settings (it does not implement lm.Schemer)")

func (c *Client) Schema(ctx context.Context, _ SchemaRequest) (*Schema, error) {
	r, err := c.c.Schema(ctx, &pb.SchemaRequest{})
	if status.Code(err) == codes.Unimplemented {
		return nil, fmt.Errorf("schema: %w", ErrNoSchema)
	}
	if err != nil {
		return nil, plugin.Error(err)
	}
	var s Schema
	if err := json.Unmarshal(r.SchemaJson, &s); err != nil {
		return nil, fmt.Errorf("schema: plugin sent bad JSON: %w", err)
	}
	return &s, nil
}

func (c *Client) Ground(ctx context.Context, req GroundRequest, progress func(Progress)) (*GroundResponse, error) {
	cfg, err := json.Marshal(req.Config)
	if err != nil {
		return nil, fmt.Errorf("ground: config: %w", err)
	}
	tasks := make([]string, len(req.Tasks))
	for i, t := range req.Tasks {
		tasks[i] = string(t)
	}
	st, err := c.c.Ground(ctx, &pb.GroundRequest{Base: req.Base, Datasets: req.Datasets, Tasks: tasks, ConfigJson: cfg,
		Steps: int64(req.Steps), OutDir: req.OutDir, Seed: req.Seed, Resume: req.Resume, CheckpointEvery: int64(req.CheckpointEvery)})
	if err != nil {
		return nil, plugin.Error(err)
	}
	var out *GroundResponse
	err = plugin.Receive("ground", st.Recv, func(ev *pb.GroundEvent) (bool, error) {
		if p := ev.Progress; p != nil && progress != nil {
			progress(Progress{Step: int(p.Done), Total: int(p.Total), Metrics: p.Metrics, Checkpoint: ev.ProgressCheckpoint})
		}
		if ev.Checkpoint == "" {
			return false, nil
		}
		out = &GroundResponse{Checkpoint: ev.Checkpoint, Metrics: ev.Metrics}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) Generate(ctx context.Context, req GenerateRequest, judge Judge) (*GenerateResponse, error) {
	cfg, err := json.Marshal(req.Config)
	if err != nil {
		return nil, fmt.Errorf("generate: config: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.c.Generate(ctx)
	if err != nil {
		return nil, plugin.Error(err)
	}
	if err := st.Send(&pb.GenerateMessage{Request: &pb.GenerateRequest{Checkpoint: req.Checkpoint, Goals: pb.FromGoals(req.Goals),
		Observations: req.Observations, MaxSteps: int32(req.MaxSteps), Temperature: req.Temperature, Seed: req.Seed, Out: req.Out,
		ConfigJson: cfg, Judged: judge != nil}}); err != nil {
		return nil, plugin.Error(err)
	}
	var out *GenerateResponse
	err = plugin.Receive("generate", st.Recv, func(ev *pb.GenerateEvent) (bool, error) {
		if s := ev.Step; s != nil {
			if judge == nil {
				return false, fmt.Errorf("generate: plugin sent a step to judge, but the request has no judge")
			}
			v, err := judge(ctx, GenerateStep{Step: int(s.Step), Index: s.Index, Observations: s.Observations, Actions: s.Actions})
			if err != nil {
				return false, err
			}
			if len(v.Done) != len(s.Index) {
				return false, fmt.Errorf("generate: judge returned %d verdicts for %d rollouts", len(v.Done), len(s.Index))
			}
			return false, plugin.Error(st.Send(&pb.GenerateMessage{Verdict: &pb.GenerateVerdict{Done: v.Done}}))
		}
		r := ev.Response
		if r == nil {
			return false, nil
		}
		out = &GenerateResponse{Metrics: r.Metrics}
		if err := json.Unmarshal(r.MetaJson, &out.Meta); err != nil {
			return false, fmt.Errorf("generate: plugin sent bad metadata: %w", err)
		}
		return true, nil
	})
	st.CloseSend()
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) Explain(ctx context.Context, req ExplainRequest) (*ExplainResponse, error) {
	in := &pb.ExplainRequest{Checkpoint: req.Checkpoint, Seed: req.Seed, Temperature: req.Temperature}
	for _, e := range req.Rollouts {
		in.Rollouts = append(in.Rollouts, pb.FromEpisode(e))
	}
	r, err := c.c.Explain(ctx, in)
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &ExplainResponse{Texts: r.Texts}, nil
}

func (c *Client) Predict(ctx context.Context, req PredictRequest) (*PredictResponse, error) {
	r, err := c.c.Predict(ctx, &pb.PredictRequest{Checkpoint: req.Checkpoint, Observations: req.Observations, Actions: req.Actions, Previous: req.Previous})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &PredictResponse{Observations: r.Observations}, nil
}

func (c *Client) Encode(ctx context.Context, req EncodeRequest) (*EncodeResponse, error) {
	r, err := c.c.Encode(ctx, &pb.EncodeRequest{Checkpoint: req.Checkpoint, Texts: req.Texts})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &EncodeResponse{Dim: int(r.Dim), Vectors: r.Vectors}, nil
}

func (c *Client) Act(ctx context.Context, req ActRequest) (*ActResponse, error) {
	lens := make([]int32, len(req.HistoryLengths))
	for i, n := range req.HistoryLengths {
		lens[i] = int32(n)
	}
	r, err := c.c.Act(ctx, &pb.LMActRequest{Checkpoint: req.Checkpoint, Observations: req.Observations, Goals: req.Goals, Seed: req.Seed,
		HistoryObservations: req.HistoryObservations, HistoryActions: req.HistoryActions, HistoryLengths: lens, Temperature: req.Temperature})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &ActResponse{Actions: r.Actions}, nil
}

// server adapts an LM to the generated gRPC service.
type server struct {
	pb.UnimplementedLMServer
	impl LM
}

func (s *server) Ground(r *pb.GroundRequest, st pb.LM_GroundServer) error {
	req := GroundRequest{Base: r.Base, Datasets: r.Datasets, Steps: int(r.Steps), OutDir: r.OutDir, Seed: r.Seed,
		Resume: r.Resume, CheckpointEvery: int(r.CheckpointEvery)}
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
			sendErr = st.Send(&pb.GroundEvent{Progress: &pb.Progress{Done: int64(p.Step), Total: int64(p.Total), Metrics: p.Metrics},
				ProgressCheckpoint: p.Checkpoint})
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

func (s *server) Generate(st pb.LM_GenerateServer) error {
	first, err := st.Recv()
	if err != nil {
		return err
	}
	r := first.Request
	if r == nil {
		return plugin.Status(fmt.Errorf("generate: the stream must start with the request"))
	}
	req := GenerateRequest{Checkpoint: r.Checkpoint, Goals: pb.ToGoals(r.Goals), Observations: r.Observations,
		MaxSteps: int(r.MaxSteps), Temperature: r.Temperature, Seed: r.Seed, Out: r.Out}
	if len(r.ConfigJson) > 0 {
		if err := json.Unmarshal(r.ConfigJson, &req.Config); err != nil {
			return plugin.Status(fmt.Errorf("generate: config: %w", err))
		}
	}
	var judge Judge
	if r.Judged {
		judge = func(_ context.Context, step GenerateStep) (*Verdict, error) {
			if err := st.Send(&pb.GenerateEvent{Step: &pb.GenerateStep{Step: int32(step.Step), Index: step.Index,
				Observations: step.Observations, Actions: step.Actions}}); err != nil {
				return nil, err
			}
			m, err := st.Recv()
			if err != nil {
				return nil, err
			}
			if m.Verdict == nil || len(m.Verdict.Done) != len(step.Index) {
				return nil, fmt.Errorf("generate: the host sent no verdict for %d rollouts", len(step.Index))
			}
			return &Verdict{Done: m.Verdict.Done}, nil
		}
	}
	res, err := s.impl.Generate(st.Context(), req, judge)
	if err != nil {
		return plugin.Status(err)
	}
	b, err := json.Marshal(res.Meta)
	if err != nil {
		return plugin.Status(err)
	}
	return st.Send(&pb.GenerateEvent{Response: &pb.GenerateResponse{MetaJson: b, Metrics: res.Metrics}})
}

func (s *server) Schema(ctx context.Context, _ *pb.SchemaRequest) (*pb.SchemaResponse, error) {
	sc, ok := s.impl.(Schemer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, ErrNoSchema.Error())
	}
	out, err := sc.Schema(ctx, SchemaRequest{})
	if err != nil {
		return nil, plugin.Status(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.SchemaResponse{SchemaJson: b}, nil
}

func (s *server) Explain(ctx context.Context, r *pb.ExplainRequest) (*pb.ExplainResponse, error) {
	req := ExplainRequest{Checkpoint: r.Checkpoint, Seed: r.Seed, Temperature: r.Temperature}
	for _, e := range r.Rollouts {
		req.Rollouts = append(req.Rollouts, pb.ToEpisode(e))
	}
	res, err := s.impl.Explain(ctx, req)
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.ExplainResponse{Texts: res.Texts}, nil
}

func (s *server) Predict(ctx context.Context, r *pb.PredictRequest) (*pb.PredictResponse, error) {
	res, err := s.impl.Predict(ctx, PredictRequest{Checkpoint: r.Checkpoint, Observations: r.Observations, Actions: r.Actions, Previous: r.Previous})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.PredictResponse{Observations: res.Observations}, nil
}

func (s *server) Encode(ctx context.Context, r *pb.EncodeRequest) (*pb.EncodeResponse, error) {
	out, err := s.impl.Encode(ctx, EncodeRequest{Checkpoint: r.Checkpoint, Texts: r.Texts})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.EncodeResponse{Dim: int32(out.Dim), Vectors: out.Vectors}, nil
}

func (s *server) Act(ctx context.Context, r *pb.LMActRequest) (*pb.LMActResponse, error) {
	lens := make([]int, len(r.HistoryLengths))
	for i, n := range r.HistoryLengths {
		lens[i] = int(n)
	}
	if len(lens) == 0 {
		lens = nil
	}
	res, err := s.impl.Act(ctx, ActRequest{Checkpoint: r.Checkpoint, Observations: r.Observations, Goals: r.Goals, Seed: r.Seed,
		HistoryObservations: r.HistoryObservations, HistoryActions: r.HistoryActions, HistoryLengths: lens, Temperature: r.Temperature})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.LMActResponse{Actions: res.Actions}, nil
}
