package experiments

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Every stage of the quick plan, with LM threads and goals read through the
// LM, comes back from its JSON description equal to the planned stage.
func TestStageDescriptionRoundTrip(t *testing.T) {
	e, err := Open("quick", Options{Set: []string{"train.goal_input=lm", "lm.threads=2"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(context.Background(), fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[StageKind]bool{}
	for _, st := range p.Stages {
		d, err := p.Describe(st)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back StageDescription
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.Stage()
		if err != nil {
			t.Fatalf("%s %s: %v", st.Kind, st.Key, err)
		}
		// Free-form maps (hyper, lm_config) come back with JSON numbers,
		// as the plugin protocol delivers them anyway: compare as JSON.
		want := *st
		want.Cells = nil
		if g, w := mustJSON(t, got), mustJSON(t, &want); g != w || reflect.TypeOf(got.Config) != reflect.TypeOf(st.Config) {
			t.Errorf("%s stage rebuilt as\n%s\nwant\n%s", st.Kind, g, w)
		}
		if !reflect.DeepEqual(got.Plugins, st.Plugins) {
			t.Errorf("%s stage plugins rebuilt as %+v, want %+v", st.Kind, got.Plugins, st.Plugins)
		}
		kinds[st.Kind] = true
	}
	if len(kinds) != len(StageKinds) {
		t.Errorf("the plan has stages of kinds %v, want all of %v", kinds, StageKinds)
	}
}

func TestStageDescriptionRefused(t *testing.T) {
	p := mustPlan(t, "quick")
	d, err := p.Describe(p.Stages[len(p.Stages)-1])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(d *StageDescription)
		want string
	}{
		{"changed config", func(d *StageDescription) {
			d.Config = []byte(strings.Replace(string(d.Config), `"episodes":`, `"episodes":1`, 1))
		}, "not to its key"},
		{"unknown field", func(d *StageDescription) { d.Config = []byte(`{"bogus":1}`) }, `unknown field "bogus"`},
		{"unknown kind", func(d *StageDescription) { d.Kind = "fly" }, `unknown kind "fly"`},
		{"other seed", func(d *StageDescription) { d.Seed++ }, "not to its key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *d
			tc.edit(&c)
			if _, err := c.Stage(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// mustJSON is a stage as JSON, with CollectConfig.Path, which JSON leaves out.
func mustJSON(t *testing.T, st *Stage) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := st.Config.(CollectConfig); ok {
		b = append(b, c.Path...)
	}
	return string(b)
}
