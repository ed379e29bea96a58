// Package iql is Implicit Q-Learning (Kostrikov et al., 2021) as a kalm
// algorithm plugin, for continuous and discrete actions.
//
// The update mirrors CORL's iql.py: V(s') is computed before the value step;
// V is fitted by expectile regression (τ) to min(Q1ₜ, Q2ₜ)(s, a) with
// u = Q − V; the twin Qs regress to r + γ(1−terminal)·V(s') with loss
// (MSE₁ + MSE₂)/2; the target Qs are Polyak-averaged every step; the actor is
// extracted by advantage-weighted regression on dataset actions with weights
// exp(β·(Qₜ − V)) clipped at 100 after the exp, using the pre-update V; its
// learning rate follows a cosine decay to 0 over the run. With
// actor_dropout > 0 the actor's hidden layers are dropped out during its
// update only (CORL's MLP(dropout=p); CORL's GaussianPolicy accepts the
// argument but does not pass it on, only its DeterministicPolicy uses it —
// here it applies to every actor); masks come from the learner's seeded,
// checkpointed random stream.
//
// Discrete actions (absent from d3rlpy and CORL; d3rlpy issue #464): the Q
// heads output all |A| values and are gathered at the dataset action, and the
// actor is a categorical policy trained by the same weighted log-likelihood.
package iql
