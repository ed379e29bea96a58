// Package npz reads and writes NumPy .npy arrays and .npz archives, and
// converts d3rlpy/D4RL-style arrays to kalm datasets and back.
//
// An .npz file is a zip of .npy files (np.savez stores them, np.savez_compressed
// deflates them). Read understands .npy versions 1.0 to 3.0, C or Fortran
// order, either byte order, and the dtypes float16/32/64, [u]int8..64, bool,
// and unicode or byte strings; Write writes version 1.0 (2.0 for a huge
// header) with float32, int64, bool and unicode arrays, stored as np.savez does.
//
// Import reads these arrays, each indexed by step on its first axis (N steps,
// episodes laid end to end):
//
//	observations       [N] or [N, obs_dim]   numbers (alias obs)
//	actions            [N] or [N, act_dim]   integers of one column are discrete (n = max+1),
//	                                         floats continuous (see Options.Actions)
//	rewards            [N]
//	terminals          [N]                   bool or 0/1 (aliases terminations, dones)
//	timeouts           [N]                   optional (alias truncations)
//	next_observations  [N, obs_dim]          optional (alias next_obs)
//	goal_texts         [N] strings           optional: the goal stated in language (aliases goals, instructions)
//	goal_vectors       [N, goal_dim]         optional (aliases infos/goal, desired_goals)
//	kalm_meta          0-d string            optional: meta.json, as Export writes it
//	kalm_episodes      [E] strings           optional: one JSON line per episode, as Export writes it
//
// Other arrays (D4RL's infos/qpos, ...) are listed in Report.Ignored. An
// episode ends after a step whose terminal or timeout flag is set, and at
// the last row; without next_observations an episode that ends in a terminal
// repeats its last observation and one that does not drops its last step
// (dataset.Steps). An episode takes the goal text and vector of its first
// step, and succeeds when it ends in a terminal. NaN and Inf are refused,
// with the array, row and column named.
//
// Export writes every one of these arrays, kalm_meta and kalm_episodes
// included, so that Import of an exported dataset gives it back byte for byte.
package npz
