package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
)

// The test binary doubles as a plugin binary: run as `TEST plugin serve NAME`
// it serves one of the fake plugins below.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		args := os.Args[4:]
		switch os.Args[3] {
		case "counter":
			env.Serve(&counter{}, env.WithArgs(args), env.WithVersion("0.1.0"))
		case "slowalgo":
			algo.Serve(slowAlgo{}, algo.WithArgs(args), algo.WithVersion("0.2.0"))
		default:
			fmt.Fprintf(os.Stderr, "no test plugin %q\n", os.Args[3])
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// counter is a tiny env: the observation counts up by the action; action 2
// panics and action 3 sleeps, to test faults.
type counter struct{ obs []float32 }

func (c *counter) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	return &env.Spec{Name: "counter", ObsDim: 1, ActionSpace: dataset.DiscreteSpace(4), GoalDim: 1, Horizon: 5,
		Levels: []string{"train"}, Policies: []string{"ones"}}, nil
}
func (c *counter) Goals(_ context.Context, r env.GoalsRequest) (*env.GoalsResponse, error) {
	gs := make([]dataset.Goal, r.N)
	for i := range gs {
		gs[i] = dataset.Goal{Level: "train", Text: "count", Vector: []float32{1}}
	}
	return &env.GoalsResponse{Goals: gs}, nil
}
func (c *counter) Reset(_ context.Context, r env.ResetRequest) (*env.ResetResponse, error) {
	c.obs = make([]float32, len(r.Goals))
	return &env.ResetResponse{Observations: append([]float32(nil), c.obs...)}, nil
}
func (c *counter) Step(ctx context.Context, r env.StepRequest) (*env.StepResponse, error) {
	if len(r.Actions) != len(c.obs) {
		return nil, fmt.Errorf("step: %d actions for a batch of %d", len(r.Actions), len(c.obs))
	}
	if err := (dataset.DiscreteSpace(4)).Check(r.Actions); err != nil {
		return nil, fmt.Errorf("step: %w", err)
	}
	out := &env.StepResponse{}
	for i, a := range r.Actions {
		switch a {
		case 2:
			panic("counter: action 2 is cursed")
		case 3:
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Second):
			}
		}
		c.obs[i] += a
		done := c.obs[i] >= 5
		out.Observations = append(out.Observations, c.obs[i])
		out.Rewards = append(out.Rewards, a)
		out.Terminals = append(out.Terminals, false)
		out.Timeouts = append(out.Timeouts, done)
		out.Success = append(out.Success, false)
		out.Done = append(out.Done, done)
	}
	return out, nil
}
func (c *counter) Judge(context.Context, env.JudgeRequest) (*env.JudgeResponse, error) {
	return nil, errors.New("judge: not supported by counter")
}
func (c *counter) Behave(_ context.Context, r env.BehaveRequest) (*env.BehaveResponse, error) {
	a := make([]float32, len(r.Observations))
	for i := range a {
		a[i] = 1
	}
	return &env.BehaveResponse{Actions: a}, nil
}
func (c *counter) Plausibility(context.Context, env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	return &env.PlausibilityResponse{}, nil
}
func (c *counter) Render(context.Context, env.RenderRequest) (*env.RenderResponse, error) {
	return nil, errors.New("render: not supported by counter")
}

// slowAlgo trains slowly, reporting progress, so it can be killed mid-training.
type slowAlgo struct{}

func (slowAlgo) Schema(context.Context, algo.SchemaRequest) (*algo.Schema, error) {
	return &algo.Schema{Name: "slowalgo", Spaces: []dataset.Kind{dataset.Discrete}}, nil
}
func (slowAlgo) Train(ctx context.Context, r algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	for step := 1; step <= r.Steps; step++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		progress(algo.Progress{Step: step, Total: r.Steps, Metrics: map[string]float64{"loss": 1 / float64(step), "pid": float64(os.Getpid())}})
	}
	return &algo.TrainResult{Metrics: map[string]float64{"loss": 0}}, nil
}
func (slowAlgo) Load(context.Context, algo.LoadRequest) (*algo.LoadResponse, error) {
	return &algo.LoadResponse{Policy: "p"}, nil
}
func (slowAlgo) Act(_ context.Context, r algo.ActRequest) (*algo.ActResponse, error) {
	return &algo.ActResponse{Actions: make([]float32, len(r.Observations))}, nil
}

// newTestRegistry returns a registry whose built-ins are the fakes above and
// whose plugin path is dir.
func newTestRegistry(t *testing.T, dir string) *Registry {
	t.Helper()
	r := New(Config{Dirs: []string{dir}, Self: []string{os.Args[0]}, Builtins: []string{"counter", "slowalgo"}, StartTimeout: 10 * time.Second})
	t.Cleanup(r.Close)
	return r
}

func writeScript(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, Prefix+name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestListAndDescribe(t *testing.T) {
	dir := t.TempDir()
	// An external plugin: a wrapper that runs the test binary's fake algo.
	writeScript(t, dir, "extalgo", fmt.Sprintf("exec %q plugin serve slowalgo \"$@\"", os.Args[0]), 0o755)
	r := newTestRegistry(t, dir)
	ps, err := r.List(context.Background())
	if err == nil || !strings.Contains(err.Error(), `describes itself as "slowalgo", want "extalgo"`) {
		t.Fatalf("want a name mismatch error for extalgo, got %v", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s/%s/%s/%v", p.Name, p.Kind, p.Version, p.Builtin))
	}
	if want := "counter/env/0.1.0/true slowalgo/algo/0.2.0/true"; strings.Join(got, " ") != want {
		t.Fatalf("list = %v, want %s", got, want)
	}
	c, _ := r.Find(context.Background(), "counter")
	if !contains(c.Capabilities, "action:discrete") || !contains(c.Capabilities, "level:train") {
		t.Fatalf("capabilities = %v", c.Capabilities)
	}
}

func TestBadPlugins(t *testing.T) {
	dir := t.TempDir()
	good := `{"name":"%s","kind":"env","version":"1","protocol_version":%d,"capabilities":[]}`
	writeScript(t, dir, "noexec", "exit 0", 0o644)
	writeScript(t, dir, "oldproto", fmt.Sprintf("echo '"+good+"'", "oldproto", 99), 0o755)
	writeScript(t, dir, "garbage", "echo hello", 0o755)
	writeScript(t, dir, "dies", fmt.Sprintf(`if [ "$1" = describe ]; then echo '`+good+`'; exit 0; fi
echo "fatal: cannot open the frobnicator" >&2; exit 3`, "dies", plugin.ProtocolVersion), 0o755)
	writeScript(t, dir, "handshake", fmt.Sprintf(`if [ "$1" = describe ]; then echo '`+good+`'; exit 0; fi
echo "1|7|unix|/tmp/nowhere.sock|grpc"; sleep 1`, "handshake", 1), 0o755)
	writeScript(t, dir, "pinned", fmt.Sprintf("exec %q plugin serve counter \"$@\"", os.Args[0]), 0o755)
	r := newTestRegistry(t, dir)
	r.cfg.Pins = map[string]string{"pinned": strings.Repeat("ab", 32)}
	ctx := context.Background()
	for _, tc := range []struct{ name, want string }{
		{"missing", "plugin missing is not installed"},
		{"noexec", "is not executable"},
		{"oldproto", fmt.Sprintf("speaks kalm plugin protocol 99, this kalm speaks %d", plugin.ProtocolVersion)},
		{"garbage", `describe printed "hello\n", want the JSON description`},
		{"dies", "fatal: cannot open the frobnicator"},
		{"handshake", "plugin handshake"},
		{"pinned", "does not match the pinned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := r.Launch(ctx, tc.name, plugin.Env)
			if err == nil {
				in.Close()
				t.Fatal("launch succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("error %q\nwant it to name the plugin and say %q", err, tc.want)
			}
		})
	}
	if _, err := r.Launch(ctx, "slowalgo", plugin.Env); err == nil || !strings.Contains(err.Error(), "is a algo plugin, want a env plugin") {
		t.Fatalf("kind mismatch: %v", err)
	}
}

func TestFaultsInCalls(t *testing.T) {
	r := newTestRegistry(t, t.TempDir())
	ctx := context.Background()
	in, err := r.Launch(ctx, "counter", plugin.Env)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	e, _ := in.Env()
	gr, err := e.Goals(ctx, env.GoalsRequest{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	goals := gr.Goals
	if _, err := e.Reset(ctx, env.ResetRequest{Goals: goals}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		actions []float32
		timeout time.Duration
		want    string
	}{
		{"wrong shape", []float32{1}, 0, "plugin counter: Step: step: 1 actions for a batch of 2"},
		{"out of range", []float32{1, 9}, 0, "9 is not an action index in 0..3"},
		{"panic", []float32{2, 1}, 0, "plugin counter: Step: plugin panicked in /kalm.v1.Env/Step: counter: action 2 is cursed"},
		{"deadline", []float32{3, 1}, 200 * time.Millisecond, "plugin counter: Step:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cctx := ctx
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			_, err := e.Step(cctx, env.StepRequest{Actions: tc.actions})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want it to wrap context.DeadlineExceeded", err)
			}
		})
	}
	// The plugin survived all of that.
	if _, err := e.Step(ctx, env.StepRequest{Actions: []float32{1, 1}}); err != nil {
		t.Fatalf("plugin did not survive the faults: %v", err)
	}
	if in.Exited() {
		t.Fatal("plugin exited")
	}
}

func TestKilledMidTraining(t *testing.T) {
	r := newTestRegistry(t, t.TempDir())
	ctx := context.Background()
	in, err := r.Launch(ctx, "slowalgo", plugin.Algo)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	a, _ := in.Algo()
	var killedAt time.Time
	_, err = a.Train(ctx, algo.TrainRequest{Steps: 1000}, func(p algo.Progress) {
		if p.Step == 5 {
			syscall.Kill(int(p.Metrics["pid"]), syscall.SIGKILL)
			killedAt = time.Now()
		}
	})
	if err == nil {
		t.Fatal("training survived SIGKILL")
	}
	if d := time.Since(killedAt); d > time.Second {
		t.Errorf("the kill surfaced after %v, want < 1s", d)
	}
	var ce *CallError
	if !errors.As(err, &ce) || ce.Plugin != "slowalgo" || !errors.Is(err, plugin.ErrUnavailable) {
		t.Fatalf("err = %v, want a CallError naming slowalgo and wrapping ErrUnavailable", err)
	}
}

// TestNoOrphans kills a host process with SIGKILL and checks that its plugin
// dies with it.
func TestNoOrphans(t *testing.T) {
	if os.Getenv("KALM_TEST_HOST") == "1" {
		r := New(Config{Self: []string{os.Args[0]}, Builtins: []string{"slowalgo"}})
		in, err := r.Launch(context.Background(), "slowalgo", plugin.Algo)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		a, _ := in.Algo()
		a.Train(context.Background(), algo.TrainRequest{Steps: 1000}, func(p algo.Progress) {
			if p.Step == 1 {
				fmt.Printf("PID %d\n", int(p.Metrics["pid"]))
			}
		})
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOrphans$")
	cmd.Env = append(os.Environ(), "KALM_TEST_HOST=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscanf(out, "PID %d\n", &pid); err != nil {
		cmd.Process.Kill()
		t.Fatalf("host did not report its plugin: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d outlived its SIGKILLed host", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPluginEnv holds whatever OPENBLAS_CORETYPE the machine sets: a value
// the user chose is kept, and only an unset one is filled with the CPU's best.
func TestPluginEnv(t *testing.T) {
	for _, tc := range []struct {
		name, core, want string // want "" = coreType()
	}{
		{"unset", "", ""},
		{"Haswell", "Haswell", "Haswell"},
		{"SkylakeX", "SkylakeX", "SkylakeX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OPENBLAS_NUM_THREADS", "8")
			t.Setenv("OPENBLAS_CORETYPE", tc.core)
			if tc.core == "" {
				os.Unsetenv("OPENBLAS_CORETYPE")
			}
			r := New(Config{Threads: 1})
			env := r.pluginEnv(r.cfg.Threads)
			joined := strings.Join(env, " ")
			if !contains(env, "OPENBLAS_NUM_THREADS=1") || contains(env, "OPENBLAS_NUM_THREADS=8") || !contains(env, "GOMAXPROCS=1") {
				t.Fatalf("plugin env = %s", joined)
			}
			want := tc.want
			if tc.core == "" {
				want = coreType()
			}
			n := 0
			for _, kv := range env {
				if strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") {
					n++
				}
			}
			switch {
			case want == "" && n != 0:
				t.Fatalf("plugin env %s sets OPENBLAS_CORETYPE on a CPU without a known core type", joined)
			case want != "" && (n != 1 || !contains(env, "OPENBLAS_CORETYPE="+want)):
				t.Fatalf("plugin env %s: want exactly OPENBLAS_CORETYPE=%s", joined, want)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
