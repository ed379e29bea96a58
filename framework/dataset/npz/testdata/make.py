# Writes the numpy fixtures of framework/dataset/npz's tests (numpy 1.24,
# Debian's python3-numpy): /usr/bin/python3 make.py in this directory.
import numpy as np

# A d3rlpy/D4RL-style file: 7 steps, 3 episodes (a terminal at 2, a timeout
# at 4, the last cut by the end of the file), no next_observations.
obs = np.arange(7 * 3, dtype=np.float64).reshape(7, 3) / 4
np.savez_compressed("d4rl.npz",
    observations=obs,
    actions=np.array([0, 1, 2, 3, 0, 1, 2], dtype=np.int64),
    rewards=np.array([0, 0, 1, 0, 0, 0.5, 0], dtype=np.float32),
    terminals=np.array([0, 0, 1, 0, 0, 0, 0], dtype=bool),
    timeouts=np.array([0, 0, 0, 0, 1, 0, 0], dtype=bool),
    goal_texts=np.array(["push the red ball", "push the red ball", "push the red ball", "größer", "größer", "x", "x"]),
    **{"infos/qpos": np.zeros((7, 2))})

# Other layouts numpy writes: Fortran order, big-endian, float16, uint8 flags, stored (np.savez).
np.savez("layouts.npz",
    observations=np.asfortranarray(obs.astype(">f4")),
    actions=np.array([[0.5, -0.5]] * 7, dtype=np.float16),
    rewards=np.arange(7, dtype=">i4"),
    terminals=np.array([0, 0, 0, 0, 0, 0, 1], dtype=np.uint8))
