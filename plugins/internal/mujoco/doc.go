// Package mujoco is kalm's own small binding over the MuJoCo C API (MuJoCo
// 2.2.2, Debian's libmujoco-dev): load a model from an MJCF string or file,
// step it, read and write qpos, qvel, ctrl and mocap poses, body positions and
// contacts.
//
// It lives under plugins/internal because only first-party plugins use it
// (tabletop, and clevr's `physics: mujoco`): it is cgo, and cgo stays out of
// the framework, the CLI and everything a `go install` of kalm needs. Its API
// is what those plugins need and nothing more, free to change with them.
//
// The cgo half is behind the build tag `mujoco` (as framework/nn's OpenBLAS
// backend is behind `openblas`); the Makefile adds the tag where ldconfig
// finds libmujoco.so. Without the tag the package still compiles: Available
// is false, and Load and LoadFile return ErrUnavailable, which names the
// install command.
//
// Data exposes MuJoCo's own arrays as Go slices over C memory (QPos, QVel,
// Ctrl, MocapPos, ...): reading and writing them costs no copy, and they stay
// valid until the Data is closed. A Model or Data is not safe for concurrent
// use; distinct Data of one Model may step on distinct goroutines.
//
// MuJoCo reports fatal errors through mju_error, which by default prints to
// stdout and exits: fatal for a plugin, whose stdout is the go-plugin
// handshake. The binding installs handlers that turn every MuJoCo error into
// a Go error of the call that raised it (the C side unwinds with longjmp
// before returning to Go) and keep warnings off stdout; Step reports MuJoCo's
// instability warnings (bad qacc, qpos or qvel) as errors too.
package mujoco
