// Package offlinetest provides small MDPs with known optimal returns for
// testing offline RL algorithms end to end: [Line], a goal-conditioned
// corridor with discrete actions, and [Point], a goal-reaching point mass with
// continuous actions. Each writes kalm datasets from a chosen mix of expert and
// bad behaviour and evaluates a policy given as a batched [Act] function;
// [TrainAndLoad] trains an algo.Algo and returns its deterministic policy;
// [Recorder] keeps the metrics a training run reports.
//
// It also holds the other helpers the plugins' tests share: the torch
// golden-tensor fixtures ([ReadFixture], [Fixture.Replay]), the check of a
// benchmark workload's matrix work per step ([CheckStepMFLOP]) and the body
// of their `go test -bench` functions ([BenchmarkWorkload]). Only tests
// import this package, so the kalm binary does not link package testing.
package offlinetest
