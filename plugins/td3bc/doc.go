// Package td3bc is TD3+BC (Fujimoto & Gu, 2021) as a kalm algorithm plugin,
// for continuous actions.
//
// The update mirrors CORL's td3_bc.py: twin critics regress to
// r + γ(1−terminal)·min(Q1ₜ, Q2ₜ)(s', clip(πₜ(s') + clip(ε, ±c), ±1)) with
// ε ~ N(0, σ²); every policy_freq-th step the actor minimises
// −λ·mean Q1(s, π(s)) + MSE(π(s), a) with λ = α / mean|Q1(s, π(s))| detached,
// and only then are the targets (both critics and the actor)
// Polyak-averaged. Inputs are standardised by the dataset's mean/std, which
// TD3+BC's α balance depends on.
package td3bc
