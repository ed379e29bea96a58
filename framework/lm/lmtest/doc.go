// Package lmtest checks an lm.LM implementation against the contract of
// package lm. One call runs every check as a named subtest:
//
//	func TestConformance(t *testing.T) {
//		lmtest.Run(t, func(testing.TB) lm.LM { return mylm.New() })
//	}
//
// The factory is called whenever a check needs a backend, so the suite runs
// over an in-process value or over the client of a plugin subprocess. The
// suite writes its own tiny datasets with dataset.Create — a walk on the
// cells 0..5 of a line, observations [position, target], goal texts "go to
// cell K", and actions of each kind in Suite.Spaces: three discrete actions
// (left, stay, right) or a velocity in [-1, 1] — and grounds on them for
// Suite.Steps steps, so it takes seconds; pass small model sizes in
// Suite.Config. Each kind's checks are subtests named after it
// ("discrete/Ground", "continuous/Resume").
//
// The checks:
//
//   - Ground: progress in step order with finite metrics and Total = Steps;
//     with CheckpointEvery = Steps/4 (before any validation a backend may
//     run), at least one Progress.Checkpoint, on disk when reported; the final
//     checkpoint exists under OutDir.
//   - Resume: a Ground cancelled after its first progress checkpoint and
//     started again with Resume (and the same OutDir, as the runner does)
//     reports only steps after that checkpoint and ends with a model that
//     predicts and encodes as the uninterrupted one does.
//   - Generate: without a judge, one episode per goal, in order, of exactly
//     MaxSteps actions, each valid in the action space, starting from the
//     given observation, with the dataset's obs dim and action space.
//   - GenerateJudged: every reported step lists only running rollouts, with
//     observations and actions of the right lengths that the written
//     episodes hold; a rollout the judge calls done gets no more steps.
//   - GenerateSeeded: the same request gives the same rollouts, greedily and
//     sampling with a temperature.
//   - Explain: one non-empty text per rollout.
//   - Predict: one finite next observation per transition; each
//     observation given as its own previous one answers as none given.
//   - Encode: Dim ≥ 1, one finite vector per text, the same twice.
//   - Act: one valid action per goal, with and without a history.
//   - BadInput: an empty dataset, datasets of two specs, a missing dataset,
//     a checkpoint that is no checkpoint, a missing checkpoint, an empty goal
//     text, out-of-range or NaN actions and batches of the wrong length are
//     errors, not panics.
package lmtest
