// Package algotest checks an algo.Algo implementation against the contract
// of package algo. One call runs every check as a named subtest:
//
//	func TestConformance(t *testing.T) {
//		algotest.Run(t, func(testing.TB) algo.Algo { return bc.New() })
//	}
//
// The factory is called whenever a check needs an algorithm, so the suite
// runs over an in-process value or over the client of a plugin subprocess.
// Training is tiny (Suite.Steps steps on datasets of a few hundred
// transitions), so the suite takes seconds; pass small network sizes in
// Suite.Hyper.
//
// The checks:
//
//   - Schema: a name, valid action-space kinds, unique parameter names of a
//     known type, each default of its declared type (and among Allowed).
//   - Hyper: an unknown hyper-parameter and a value of the wrong type are
//     rejected by Train.
//   - For each action-space kind the schema lists, on datasets written with
//     dataset.Create:
//   - Train: progress is streamed in step order with finite metrics;
//     checkpoints are written, listed in step order, the last at the final
//     step, and exist on disk.
//   - Act: a loaded checkpoint gives one valid action per observation,
//     deterministically with Deterministic set, and the same actions for the
//     same seed when sampling.
//   - BadInput: a missing checkpoint, an unknown policy handle and
//     observation or goal batches of the wrong length are errors, not panics.
//   - Seeded: two trainings with the same seed give the same policy.
//   - Mixed: two datasets with weights train; datasets of different
//     dimensions are rejected.
//   - Cancel: cancelling the context stops Train with context.Canceled.
package algotest
