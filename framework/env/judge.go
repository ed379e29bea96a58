package env

import (
	"context"
	"errors"
	"fmt"
)

// RolloutError is an error about one rollout of a batch: a malformed
// rollout in a [JudgeBatchRequest], say. It crosses the plugin boundary
// with its index intact.
type RolloutError struct {
	// Index is the rollout's position in the batch.
	Index int
	Err   error
}

func (e *RolloutError) Error() string { return fmt.Sprintf("rollout %d: %v", e.Index, e.Err) }

func (e *RolloutError) Unwrap() error { return e.Err }

// JudgeBatch labels every rollout of req with e: in one call where e is a
// [BatchJudger] (a plugin [Client] is: one RPC), otherwise with one Judge
// call per rollout, in order. It checks that the env returned one result per
// rollout; an error about one rollout is a [*RolloutError].
func JudgeBatch(ctx context.Context, e Env, req JudgeBatchRequest) (*JudgeBatchResponse, error) {
	b, ok := e.(BatchJudger)
	if !ok {
		return judgeEach(ctx, e, req)
	}
	r, err := b.JudgeBatch(ctx, req)
	if err != nil {
		return nil, err
	}
	if r == nil || len(r.Results) != len(req.Rollouts) {
		n := 0
		if r != nil {
			n = len(r.Results)
		}
		return nil, fmt.Errorf("judge batch: the env returned %d results for %d rollouts", n, len(req.Rollouts))
	}
	return r, nil
}

// judgeEach labels a batch with one Judge call per rollout.
func judgeEach(ctx context.Context, e Env, req JudgeBatchRequest) (*JudgeBatchResponse, error) {
	out := &JudgeBatchResponse{Results: make([]JudgeResponse, len(req.Rollouts))}
	for i, ro := range req.Rollouts {
		r, err := e.Judge(ctx, ro)
		if err == nil && r == nil {
			err = errors.New("judge returned neither labels nor an error")
		}
		if err != nil {
			return nil, &RolloutError{Index: i, Err: err}
		}
		out.Results[i] = *r
	}
	return out, nil
}
