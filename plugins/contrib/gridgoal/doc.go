// Package gridgoal is a small goal-conditioned grid world with language
// goals, written as a third-party kalm env plugin on the public SDK only.
//
// An agent in an 8×8 room holds four objects: keys, balls, boxes and doors
// of six colors. It moves up, right, down and left (a move into something
// only turns it), picks up and drops keys and balls, and toggles doors; a
// locked door opens only for the agent carrying the key of its color.
//
// Goals are "go to the red key", "pick up the blue ball", "open the green
// door" and their rephrasings. Three levels follow KALM: "train" (training
// goals and phrasings), "rephrase" (the same goals, unseen phrasings) and
// "unseen" (goals held out of training). A goal's vector is the one-hot
// encoding of its kind, object type and color (GoalDim values).
//
// An observation (ObsDim values) is the agent's x, y and facing direction,
// then type, color, x, y and state of each object. Reaching the goal gives
// reward 1 and ends the episode; otherwise it times out at the horizon
// (configurable as "horizon"). Behaviour policies: "expert" (scripted
// shortest paths; param "random_share" mixes in random actions) and "random".
//
// The plugin binary is cmd/kalm-plugin-gridgoal; its main is one line:
//
//	func main() { env.Serve(gridgoal.New()) }
package gridgoal
