// Package cql is Conservative Q-Learning (Kumar et al., 2020) as a kalm
// algorithm plugin.
//
// Discrete actions mirror d3rlpy's DiscreteCQL: Double DQN (online argmax,
// target evaluation, Huber loss, hard target copy every
// target_update_interval steps) plus α·(mean_s logsumexp_a Q(s,a) − mean
// Q(s, a_data)), exact over all actions. Defaults follow the KALM paper's
// Table 3 (lr 6.25e-5, conservative weight 10).
//
// Continuous actions mirror CORL's cql.py (SAC with a tanh-Gaussian actor
// and automatic entropy tuning; per critic α·(logsumexp over 10 uniform, 10
// π(·|s) and 10 π(·|s') actions with importance-sampling corrections −
// Q(s, a_data)); the actions sampled at the next state are evaluated at the
// current state). Defaults follow d3rlpy as used by the KALM code (actor lr
// 1e-4, critic 3e-4, conservative weight 10) with CORL's 2×256 networks.
// bc_weight adds a pull of the actor's deterministic action towards the
// data's (TD3+BC's term) to its loss: it closes most of CQL's gap to the
// expert on the tabletop's expert data, and makes CQL plain BC on data with
// random actions, so it is off by default.
package cql
