//go:build !mujoco

package clevr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

// TestMuJoCoUnavailable: without the mujoco tag, `physics: mujoco` is refused
// with the install command, and the env keeps its previous physics.
func TestMuJoCoUnavailable(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Configure(context.Background(), env.ConfigureRequest{Config: map[string]string{"physics": "mujoco"}})
	if !errors.Is(err, mujoco.ErrUnavailable) || !strings.Contains(err.Error(), "apt-get install libmujoco-dev") {
		t.Fatalf("Configure(physics: mujoco) = %v, want ErrUnavailable naming the install command", err)
	}
	s, err := e.Spec(context.Background(), env.SpecRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Config["model"]; m != ModelDynamic {
		t.Fatalf("model after the refused configure = %q, want %q", m, ModelDynamic)
	}
}
