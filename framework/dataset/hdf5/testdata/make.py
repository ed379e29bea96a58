# Writes the h5py fixtures of framework/dataset/hdf5's tests (h5py 3.7,
# Debian's python3-h5py): /usr/bin/python3 make.py in this directory.
import h5py, numpy as np

# D4RL's layout as its generation scripts write it: gzip-compressed, bool flags.
obs = (np.arange(7 * 3, dtype=np.float32).reshape(7, 3) / 4)
with h5py.File("d4rl-h5py.hdf5", "w") as f:
    f.create_dataset("observations", data=obs, compression="gzip")
    f.create_dataset("actions", data=np.array([[0.5], [-0.5], [0.25], [0], [1], [-1], [0.1]], dtype=np.float32), compression="gzip")
    f.create_dataset("rewards", data=np.array([0, 0, 1, 0, 0, 0.5, 0], dtype=np.float64), compression="gzip")
    f.create_dataset("terminals", data=np.array([0, 0, 1, 0, 0, 0, 0], dtype=bool), compression="gzip")
    f.create_dataset("timeouts", data=np.array([0, 0, 0, 0, 1, 0, 0], dtype=bool), compression="gzip")
    f.create_dataset("infos/goal", data=np.array([[1, 2]] * 3 + [[3, 4]] * 4, dtype=np.float64), compression="gzip")
    f.create_dataset("infos/qpos", data=np.zeros((7, 2)), compression="gzip")
    f["metadata/algorithm"] = "SAC"

# Minari's layout: an episode group each, T+1 observations, a dict observation, int64 actions, bool flags.
with h5py.File("minari-h5py.hdf5", "w") as f:
    for k, (t, term) in enumerate([(3, True), (2, False)]):
        g = f.create_group(f"episode_{k}")
        g.attrs["id"] = k
        g.attrs["total_steps"] = t
        o = g.create_group("observations")
        o.create_dataset("observation", data=np.arange(2 * (t + 1), dtype=np.float64).reshape(t + 1, 2) + 10 * k)
        o.create_dataset("desired_goal", data=np.full((t + 1, 1), k, dtype=np.float64))
        g.create_dataset("actions", data=np.arange(t, dtype=np.int64) % 4)
        g.create_dataset("rewards", data=np.ones(t))
        g.create_dataset("terminations", data=np.array([False] * (t - 1) + [term]))
        g.create_dataset("truncations", data=np.zeros(t, dtype=bool))
