// Package lm defines kalm's language-model backends: the LM interface that
// grounds a model in an environment (goal→rollout, rollout→goal, dynamics and
// consequence tasks), imagines rollouts for new goals, explains rollouts,
// predicts dynamics, encodes goal texts for policies, and acts as a policy.
//
// A backend plugin's main is one line: func main() { lm.Serve(myLM{}) }.
package lm
