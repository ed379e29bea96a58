package algo

import (
	"context"
	"encoding/json"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kalm-go/kalm/framework/internal/pb"
	"github.com/kalm-go/kalm/framework/plugin"
)

// Plugin is the go-plugin glue for algorithm plugins. Impl is set only inside
// the plugin process; the host dispenses a *Client.
type Plugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Impl Algo
}

var _ goplugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the implementation on the plugin's gRPC server.
func (p *Plugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterAlgoServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns the host-side client.
func (p *Plugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{c: pb.NewAlgoClient(c)}, nil
}

// Client is an Algo in another process.
type Client struct {
	c pb.AlgoClient
}

var _ Algo = (*Client)(nil)

func (c *Client) Schema(ctx context.Context, _ SchemaRequest) (*Schema, error) {
	r, err := c.c.Schema(ctx, &pb.SchemaRequest{})
	if err != nil {
		return nil, plugin.Error(err)
	}
	var s Schema
	if err := json.Unmarshal(r.SchemaJson, &s); err != nil {
		return nil, fmt.Errorf("schema: plugin sent bad JSON: %w", err)
	}
	return &s, nil
}

func (c *Client) Train(ctx context.Context, req TrainRequest, progress func(Progress)) (*TrainResult, error) {
	hyper, err := json.Marshal(req.Hyper)
	if err != nil {
		return nil, fmt.Errorf("train: hyper-parameters: %w", err)
	}
	in := &pb.TrainRequest{HyperJson: hyper, Steps: int64(req.Steps), Batch: int32(req.Batch),
		CheckpointEvery: int64(req.CheckpointEvery), OutDir: req.OutDir, Seed: req.Seed, Resume: req.Resume}
	for _, d := range req.Datasets {
		in.Datasets = append(in.Datasets, &pb.Source{Path: d.Path, Weight: d.Weight})
	}
	st, err := c.c.Train(ctx, in)
	if err != nil {
		return nil, plugin.Error(err)
	}
	var out *TrainResult
	err = plugin.Receive("train", st.Recv, func(ev *pb.TrainEvent) (bool, error) {
		if p := ev.Progress; p != nil && progress != nil {
			progress(Progress{Step: int(p.Done), Total: int(p.Total), Metrics: p.Metrics, Checkpoint: p.Checkpoint})
		}
		r := ev.Result
		if r == nil {
			return false, nil
		}
		out = &TrainResult{Metrics: r.Metrics}
		for _, c := range r.Checkpoints {
			out.Checkpoints = append(out.Checkpoints, Checkpoint{Step: int(c.Step), Path: c.Path})
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) Load(ctx context.Context, req LoadRequest) (*LoadResponse, error) {
	r, err := c.c.Load(ctx, &pb.LoadRequest{Checkpoint: req.Checkpoint})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &LoadResponse{Policy: Policy(r.Policy)}, nil
}

func (c *Client) Act(ctx context.Context, req ActRequest) (*ActResponse, error) {
	r, err := c.c.Act(ctx, &pb.ActRequest{Policy: string(req.Policy), Observations: req.Observations, Goals: req.Goals,
		Deterministic: req.Deterministic, Seed: req.Seed})
	if err != nil {
		return nil, plugin.Error(err)
	}
	return &ActResponse{Actions: r.Actions}, nil
}

// server adapts an Algo to the generated gRPC service.
type server struct {
	pb.UnimplementedAlgoServer
	impl Algo
}

func (s *server) Schema(ctx context.Context, _ *pb.SchemaRequest) (*pb.SchemaResponse, error) {
	sc, err := s.impl.Schema(ctx, SchemaRequest{})
	if err != nil {
		return nil, plugin.Status(err)
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.SchemaResponse{SchemaJson: b}, nil
}

func (s *server) Train(r *pb.TrainRequest, st pb.Algo_TrainServer) error {
	req := TrainRequest{Steps: int(r.Steps), Batch: int(r.Batch), CheckpointEvery: int(r.CheckpointEvery),
		OutDir: r.OutDir, Seed: r.Seed, Resume: r.Resume}
	if len(r.HyperJson) > 0 {
		if err := json.Unmarshal(r.HyperJson, &req.Hyper); err != nil {
			return plugin.Status(fmt.Errorf("train: hyper-parameters: %w", err))
		}
	}
	for _, d := range r.Datasets {
		req.Datasets = append(req.Datasets, Source{Path: d.Path, Weight: d.Weight})
	}
	var sendErr error
	res, err := s.impl.Train(st.Context(), req, func(p Progress) {
		if sendErr == nil {
			sendErr = st.Send(&pb.TrainEvent{Progress: &pb.Progress{Done: int64(p.Step), Total: int64(p.Total), Metrics: p.Metrics, Checkpoint: p.Checkpoint}})
		}
	})
	if err != nil {
		return plugin.Status(err)
	}
	if sendErr != nil {
		return sendErr
	}
	out := &pb.TrainResult{Metrics: res.Metrics}
	for _, c := range res.Checkpoints {
		out.Checkpoints = append(out.Checkpoints, &pb.Checkpoint{Step: int64(c.Step), Path: c.Path})
	}
	return st.Send(&pb.TrainEvent{Result: out})
}

func (s *server) Load(ctx context.Context, r *pb.LoadRequest) (*pb.LoadResponse, error) {
	out, err := s.impl.Load(ctx, LoadRequest{Checkpoint: r.Checkpoint})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.LoadResponse{Policy: string(out.Policy)}, nil
}

func (s *server) Act(ctx context.Context, r *pb.ActRequest) (*pb.ActResponse, error) {
	out, err := s.impl.Act(ctx, ActRequest{Policy: Policy(r.Policy), Observations: r.Observations, Goals: r.Goals,
		Deterministic: r.Deterministic, Seed: r.Seed})
	if err != nil {
		return nil, plugin.Status(err)
	}
	return &pb.ActResponse{Actions: out.Actions}, nil
}
