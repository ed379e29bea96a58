// Package dataset is kalm's on-disk format for offline RL data: episodes of
// observations, actions, rewards, terminals and timeouts (kept apart), each with
// the goal it was collected for, and the action space stated explicitly.
//
// A dataset is a directory of flat little-endian column files plus two small
// text files, so it can be streamed, memory-mapped, and read from Python with
// numpy alone:
//
//	meta.json          Meta: format version, dimensions, action space, counts
//	episodes.jsonl     one JSON line per episode: its goal, length and outcome
//	lengths.i32        int32   [episodes]          T_i, the number of actions
//	obs.f32            float32 [Σ(T_i+1), obs_dim]  every episode's T_i+1 observations
//	actions.f32        float32 [Σ T_i, action_dim]  a discrete action is its index in one column
//	rewards.f32        float32 [Σ T_i]
//	terminals.u8       uint8   [Σ T_i]              1 where the episode ended in a terminal state
//	timeouts.u8        uint8   [Σ T_i]              1 where it was cut by the time limit
//	goal_vectors.f32   float32 [episodes, goal_dim] the goal's vector encoding (may be 0-wide)
//
// In Python:
//
//	import json, numpy as np
//	meta = json.load(open(d + "/meta.json"))
//	obs = np.fromfile(d + "/obs.f32", "<f4").reshape(-1, meta["obs_dim"])
//	act = np.fromfile(d + "/actions.f32", "<f4").reshape(-1, meta["action_space"]["dim"])
//	lengths = np.fromfile(d + "/lengths.i32", "<i4")
//
// A Writer writes into a temporary sibling directory and renames it into place
// on Close, so a reader never sees a half-written dataset.
package dataset
