// Package hdf5 imports D4RL and Minari HDF5 files as kalm datasets.
//
// It reads HDF5 through the HDF5 C library (gonum.org/v1/hdf5, cgo), so it
// is built only with the build tag hdf5, as `make` does where libhdf5-dev is
// installed (apt-get install libhdf5-dev); without the tag, Import reports
// that this kalm was built without HDF5 support.
//
// Two layouts are read:
//
//   - D4RL: datasets at the root named as npz's arrays (observations,
//     actions, rewards, terminals, timeouts, next_observations, infos/goal,
//     ...), one row per step; see package npz for the names, aliases and
//     how episodes are cut.
//   - Minari: one group per episode, episode_0, episode_1, ..., each with
//     observations [T+1, obs_dim], actions [T, ...], rewards, terminations
//     and truncations [T]. A dict observation space is a group whose
//     observation dataset is the observation and whose desired_goal, when
//     present, is the goal vector. An episode that ends with neither flag
//     set is marked truncated at its last step.
//
// Numbers of any width and either byte order are read; h5py's booleans
// (an enum of 0 and 1) are flags. String datasets are not read (listed as
// ignored): goal texts come from .npz files. Write writes numeric arrays,
// in groups where a name holds a '/', for tests and fixtures.
package hdf5
