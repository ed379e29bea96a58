// Package envtest checks an env.Env implementation against the contract of
// package env. One call runs every check as a named subtest:
//
//	func TestConformance(t *testing.T) {
//		envtest.Run(t, func(testing.TB) env.Env { return mygrid.New() })
//	}
//
// The factory is called whenever a check needs an env, so the same suite
// runs over an in-process value or over a client of a real plugin
// subprocess (a factory may also return one shared client: every check
// starts with Reset).
//
// The checks:
//
//   - Spec: a name, obs dim ≥ 1, a valid action space, horizon ≥ 1, unique
//     non-empty levels and policies, and the same answer twice.
//   - Goals: every level yields goals of that level with text and a finite
//     vector of GoalDim values; the same seed gives the same goals and
//     different seeds different ones; an unknown level is an error.
//   - ResetStep: batches of 1, several and many episodes get observations,
//     rewards and flags of the right lengths, all finite.
//   - Deterministic: two fresh envs given the same seed, goals and actions
//     give identical observations and rewards.
//   - ResetObservations: a reset from given observations starts there.
//   - Episodes: every episode ends by the horizon, through a terminal or with
//     Timeouts set at exactly the horizon; a done episode stays done and
//     repeats its last observation with reward 0.
//   - Judge: for rollouts of every behaviour policy, Judge gives the rewards,
//     terminals, success and length that Step gave.
//   - JudgeBatch: env.JudgeBatch (the env's own env.BatchJudger, one RPC
//     for a plugin client, else Judge per rollout) gives each rollout of a
//     batch mixing policies, successes and failures, lengths and goals what
//     Judge gives it alone, in order; an empty batch has no results; a batch
//     with one malformed rollout is an *env.RolloutError naming its index.
//   - Behave: every policy returns valid actions of the right shape,
//     deterministically under a seed; an unknown policy is an error.
//   - BadInput: out-of-range, non-integer, NaN and infinite actions, action
//     batches of the wrong length, and malformed Reset, Judge, Behave,
//     Plausibility and Render requests (where the env has them) are errors,
//     not panics.
//   - Plausibility (where the env is an env.PlausibilityScorer): every
//     rollout of every policy is scored by the same non-empty list of
//     shares, each with a unique snake_case name, a description and a value
//     in [0, 1].
//   - Render (where the env is an env.Renderer): a decodable PNG, of the
//     requested width when one is given.
//   - Collect: env.Collect writes a dataset that dataset.Load reads back with
//     the requested number of episodes and the env's dimensions, the same
//     for the same seed (and, for a plugin client, the same when collected
//     inside the plugin).
//   - Configure: an env that takes configuration rejects an unknown key
//     with an error naming it.
//
// Render and Plausibility are optional capabilities: their checks skip an
// env that lacks them, in process (the interface is missing) or across a
// plugin boundary (the client's call returns env.ErrNoRender or
// env.ErrNoPlausibility).
//
// Configure an env in the factory: the suite calls Configure only with an
// unknown key, which must change nothing.
package envtest
