//go:build !mujoco

package clevr

import (
	"fmt"

	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

// mjSim is ModelMuJoCo's simulation, absent from a build without the mujoco tag.
type mjSim struct{}

func newMuJoCo(Config) (*mjSim, error) {
	return nil, fmt.Errorf("clevr config: physics = %q: %w", ModelMuJoCo, mujoco.ErrUnavailable)
}

func (*mjSim) step(*State, int, int) error { return mujoco.ErrUnavailable }
