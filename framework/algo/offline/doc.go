// Package offline holds what the offline RL algorithm plugins (bc, cql, iql,
// td3bc) share: the minibatch layout, the [Learner] interface an algorithm's
// update rule implements, hyper-parameter resolution against an
// [algo.Schema], dataset loading and weighted mixing, observation and action
// normalisation, self-contained checkpoints, the training loop with
// divergence detection, and [Plugin], which turns a [Factory] into an
// [algo.Algo]. It also runs the gradient-step benchmark ([Bench]); the
// torch golden-tensor fixtures and the plugins' test helpers are in package
// offlinetest, which only tests import.
//
// An algorithm package only writes its update rule:
//
//	var Factory = offline.Factory{Name: "bc", Schema: schema, New: newLearner}
//	func main() { algo.Serve(offline.NewPlugin(Factory)) }
package offline
