package gridgoal_test

import (
	"testing"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
	"github.com/kalm-go/kalm/plugins/contrib/gridgoal"
)

func TestConformance(t *testing.T) {
	envtest.Run(t, func(testing.TB) env.Env { return gridgoal.New() })
}
