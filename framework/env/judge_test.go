package env

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/internal/pb"
)

// tally is an env of one number that counts its Judge calls: a transition
// is rewarded where the number reaches the goal's target (the goal vector).
type tally struct {
	Env    // only Judge is called
	judges atomic.Int64
}

func (e *tally) Judge(_ context.Context, r JudgeRequest) (*JudgeResponse, error) {
	e.judges.Add(1)
	T := len(r.Actions)
	if len(r.Observations) != T+1 {
		return nil, fmt.Errorf("tally: judge: %d observations for %d actions, want %d", len(r.Observations), T, T+1)
	}
	j := &JudgeResponse{Rewards: make([]float32, T), Terminals: make([]bool, T), Steps: T}
	for k := range T {
		if r.Observations[k+1] >= r.Goal.Vector[0] {
			j.Rewards[k], j.Terminals[k], j.Success = 1, true, true
			j.Steps = k + 1
			break
		}
	}
	return j, nil
}

// batching is tally with a batch method of its own, which counts its calls.
type batching struct {
	*tally
	batches *atomic.Int64
}

func (e batching) JudgeBatch(ctx context.Context, req JudgeBatchRequest) (*JudgeBatchResponse, error) {
	e.batches.Add(1)
	return judgeEach(ctx, e.tally, req)
}

// oldPlugin serves an env as a plugin binary built before JudgeBatch
// existed does: the RPC answers Unimplemented.
type oldPlugin struct{ Plugin }

func (p *oldPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterEnvServer(s, oldServer{&server{impl: p.Impl}})
	return nil
}

type oldServer struct{ *server }

func (oldServer) JudgeBatch(context.Context, *pb.JudgeBatchRequest) (*pb.JudgeBatchResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method JudgeBatch not implemented")
}

func dial(t *testing.T, p goplugin.Plugin) *Client {
	t.Helper()
	c, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{"env": p})
	t.Cleanup(func() { c.Close() })
	raw, err := c.Dispense("env")
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*Client)
}

// TestJudgeBatchOverGRPC: against a current plugin and against one built
// before JudgeBatch, a client's JudgeBatch gives every rollout what Judge
// gives it, and names a malformed rollout by its index.
func TestJudgeBatchOverGRPC(t *testing.T) {
	goal := func(x float32) dataset.Goal { return dataset.Goal{Text: fmt.Sprint("reach ", x), Vector: []float32{x}} }
	good := []JudgeRequest{
		{Goal: goal(2), Observations: []float32{0, 1, 2}, Actions: []float32{1, 1}},
		{Goal: goal(3), Observations: []float32{0, 1}, Actions: []float32{1}},
		{Goal: goal(1), Observations: []float32{0, 1, 1, 1}, Actions: []float32{1, 0, 0}},
	}
	bad := append(append([]JudgeRequest(nil), good...), good...)
	bad[4].Observations = []float32{0}
	for _, tt := range []struct {
		name   string
		plugin func(*tally, *atomic.Int64) goplugin.Plugin
		chunk  int   // judgeChunk: bytes of observations and actions per RPC
		rpcs   int64 // JudgeBatch calls the env sees for one batch of good, where it counts them
	}{
		{"current", func(e *tally, _ *atomic.Int64) goplugin.Plugin { return &Plugin{Impl: e} }, judgeChunk, 0},
		{"current/own-batch", func(e *tally, n *atomic.Int64) goplugin.Plugin { return &Plugin{Impl: batching{e, n}} }, judgeChunk, 1},
		{"current/chunked", func(e *tally, n *atomic.Int64) goplugin.Plugin { return &Plugin{Impl: batching{e, n}} }, 16, 3}, // 12–28 bytes a rollout: one per RPC
		{"old", func(e *tally, _ *atomic.Int64) goplugin.Plugin { return &oldPlugin{Plugin{Impl: e}} }, judgeChunk, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func(c int) { judgeChunk = c }(judgeChunk)
			judgeChunk = tt.chunk
			e, rpcs := &tally{}, &atomic.Int64{}
			c := dial(t, tt.plugin(e, rpcs))
			ctx := context.Background()
			for range 2 { // the old plugin's second batch goes straight to Judge
				e.judges.Store(0)
				rpcs.Store(0)
				got, err := JudgeBatch(ctx, c, JudgeBatchRequest{Rollouts: good})
				if err != nil {
					t.Fatal(err)
				}
				if e.judges.Load() != int64(len(good)) {
					t.Errorf("the env saw %d Judge calls for %d rollouts", e.judges.Load(), len(good))
				}
				if rpcs.Load() != tt.rpcs {
					t.Errorf("the env's JudgeBatch was called %d times, want %d", rpcs.Load(), tt.rpcs)
				}
				for i, r := range good {
					want, err := c.Judge(ctx, r)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got.Results[i], *want) {
						t.Errorf("rollout %d: JudgeBatch gave %+v, Judge %+v", i, got.Results[i], *want)
					}
				}
			}
			if got, err := c.JudgeBatch(ctx, JudgeBatchRequest{}); err != nil || len(got.Results) != 0 {
				t.Errorf("empty batch: %+v, %v", got, err)
			}
			_, err := c.JudgeBatch(ctx, JudgeBatchRequest{Rollouts: bad})
			var re *RolloutError
			if !errors.As(err, &re) || re.Index != 4 {
				t.Fatalf("malformed rollout 4: %v, want a *RolloutError with Index 4", err)
			}
			if want := "rollout 4: tally: judge: 1 observations for 1 actions, want 2"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if c.noBatch.Load() != (tt.name == "old") {
				t.Errorf("noBatch = %v", c.noBatch.Load())
			}
		})
	}
}
