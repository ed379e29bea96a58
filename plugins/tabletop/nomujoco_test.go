//go:build !mujoco

package tabletop

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

// TestWithoutMuJoCo: a build without the mujoco tag describes the env and
// judges states, and Reset fails with the install command.
func TestWithoutMuJoCo(t *testing.T) {
	e := New()
	ctx := context.Background()
	if _, err := e.Spec(ctx, env.SpecRequest{}); err != nil {
		t.Fatal(err)
	}
	g := dataset.Goal{Level: LevelTrain, Params: map[string]string{"task": "reach"}}
	_, err := e.Reset(ctx, env.ResetRequest{Goals: []dataset.Goal{g}})
	if !errors.Is(err, mujoco.ErrUnavailable) || !strings.Contains(err.Error(), "apt-get install libmujoco-dev") {
		t.Fatalf("Reset = %v, want ErrUnavailable with the install command", err)
	}
}
