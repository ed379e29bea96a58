//go:build !mujoco

package mujoco

// Available reports whether this build of kalm links MuJoCo.
const Available = false

// Version is the linked MuJoCo's version: none in this build.
func Version() string { return "" }

// Model is a compiled MuJoCo model; this build cannot make one.
type Model struct{}

// Load reports ErrUnavailable: this build of kalm does not link MuJoCo.
func Load(name, mjcf string) (*Model, error) { return nil, ErrUnavailable }

// LoadFile reports ErrUnavailable: this build of kalm does not link MuJoCo.
func LoadFile(path string) (*Model, error) { return nil, ErrUnavailable }
