//go:build !mujoco

package tabletop

import (
	"fmt"

	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

// engine and world are the MuJoCo simulation, absent from a build without
// the mujoco tag: Reset fails with the install command, and everything that
// works on states alone (goals, judges, experts, plausibility, render) still works.
type (
	engine struct{}
	world  struct{}
)

func newEngine() (*engine, error) { return nil, fmt.Errorf("tabletop: %w", mujoco.ErrUnavailable) }

func (*engine) newWorld() (*world, error)       { return nil, mujoco.ErrUnavailable }
func (*world) set(State) error                  { return mujoco.ErrUnavailable }
func (*world) step([]float32) error             { return mujoco.ErrUnavailable }
func (*world) observe(State, [NumEntities]bool) {}
