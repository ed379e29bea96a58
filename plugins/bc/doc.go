// Package bc is behaviour cloning as a kalm algorithm plugin.
//
// Discrete actions: cross-entropy plus d3rlpy's logit regulariser
// β·mean(logits²) (β = 0.5). Continuous actions: a deterministic tanh policy
// trained by MSE (CORL's BC), or a Gaussian policy with tanh-bounded mean and
// state-independent log-std trained by negative log-likelihood
// (policy = "gaussian"). With top_fraction < 1 it trains only on the best
// trajectories by discounted return (CORL's BC-10% is top_fraction 0.1; see
// offline.KeepTop). [Factory] is the algorithm; the plugin main is
// `algo.Serve(offline.NewPlugin(bc.Factory))`.
package bc
