package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kalm-go/kalm/results"
)

// firstLine is a writer that hands over the first line written to it.
type firstLine struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line chan string
}

func (w *firstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := bytes.IndexByte(w.buf.Bytes(), '\n') >= 0
	w.buf.Write(p)
	if i := bytes.IndexByte(w.buf.Bytes(), '\n'); !had && i >= 0 {
		w.line <- string(w.buf.Bytes()[:i])
	}
	return len(p), nil
}

// TestServeLMEndToEnd is the openai backend's whole chain over real HTTP:
// lm-compare's tinylm cell grounds a tinylm; `kalm serve-lm` serves it on
// loopback, with an API key; lm-compare's openai cell then collects (reused),
// grounds, imagines, assesses, trains and evaluates through the openai
// backend in its plugin subprocess. The imagine stage records the tokens
// and latency; the key is in no file of the work directory (the SQLite
// database, logs, artifacts) and in nothing either command printed.
func TestServeLMEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment twice and a server")
	}
	const key = "sk-kalm-e2e-4a1f0c9e7b3d2a18-never-written"
	t.Setenv("KALM_E2E_SERVE_KEY", key)
	t.Setenv("OPENAI_API_KEY", key)
	t.Setenv("KALM_OPENAI_API_KEY", "")
	work := t.TempDir()
	small := []string{"-workdir", work, "-j", "2", "--set", "dataset.episodes=40", "--set", "lm.assess.episodes=2", "--set", "imagine.rollouts=4",
		"--set", "train.steps=20", "--set", "train.checkpoint_every=10", "--set", "eval.episodes=3", "--set", "seeds=1",
		"--set", "grid.axes=[{key: lm.plugin, values: [tinylm]}, {key: lm.config, values: [{dim: 32, layers: 1, heads: 2, batch: 8, prior: none}]}, {key: lm.ground.steps, values: [40]}]",
		"--set", "imagine.keep=all"}
	var printed bytes.Buffer
	runKalm := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), args, &stdout, &stderr)
		printed.Write(stdout.Bytes())
		printed.Write(stderr.Bytes())
		if code != 0 {
			t.Fatalf("kalm %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	runKalm(append([]string{"run", "lm-compare", "--set", "grid.include=[]"}, small...)...)
	grounds, _ := filepath.Glob(filepath.Join(work, "artifacts", "ground", "*"))
	if len(grounds) != 1 {
		t.Fatalf("ground stages after the tinylm cell: %v", grounds)
	}
	ctx, stop := context.WithCancel(t.Context())
	out := &firstLine{line: make(chan string, 1)}
	var serveErr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve-lm", "-addr", "127.0.0.1:0", "-api-key-env", "KALM_E2E_SERVE_KEY", "-workdir", work,
			filepath.Base(grounds[0])[:8]}, out, &serveErr)
	}()
	var url string
	select {
	case line := <-out.line:
		i := strings.Index(line, "http://")
		if i < 0 {
			t.Fatalf("serve-lm printed %q", line)
		}
		url = line[i:]
	case code := <-done:
		t.Fatalf("serve-lm exited %d: %s", code, serveErr.String())
	}
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve-lm exited %d: %s", code, serveErr.String())
		}
		if strings.Contains(serveErr.String(), key) {
			t.Errorf("serve-lm logged the key")
		}
	}()
	include := fmt.Sprintf("grid.include=[{lm.plugin: openai, lm.config: {base_url: %q, model: tinylm, concurrency: 4, backoff: 0.05}, lm.ground.steps: 6}]", url)
	res := runKalm(append([]string{"run", "lm-compare", "--set", include}, small...)...)
	if !strings.Contains(res, "cells: 2 done") {
		t.Errorf("the second run did not finish both cells:\n%s", res)
	}
	s, err := results.Open(t.Context(), filepath.Join(work, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	var requests, prompt, stages float64
	s.DB().QueryRow(`SELECT count(DISTINCT stage_key), sum(CASE WHEN name='lm/http/requests' THEN value END), sum(CASE WHEN name='lm/tokens/prompt' THEN value END)
		FROM metrics WHERE name IN ('lm/http/requests', 'lm/tokens/prompt')`).Scan(&stages, &requests, &prompt)
	var checks int
	s.DB().QueryRow(`SELECT count(*) FROM metrics WHERE name LIKE 'check/%'`).Scan(&checks)
	s.Close()
	if stages != 3 || requests < 12 || prompt <= 0 || checks == 0 {
		t.Errorf("the openai cell's stages recorded %g requests and %g prompt tokens over %g imagine stages, and %d check metrics; want 12 requests or more over 3 stages, some tokens and check metrics",
			requests, prompt, stages, checks)
	}
	// The key is nowhere: not in the database, a log, an artifact or a stage description.
	filepath.WalkDir(work, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds the API key", path)
		}
		return nil
	})
	if bytes.Contains(printed.Bytes(), []byte(key)) {
		t.Errorf("kalm printed the API key")
	}
}

// TestServeLMRefusals: what serve-lm cannot serve is an error naming it.
func TestServeLMRefusals(t *testing.T) {
	work := t.TempDir()
	garbage := filepath.Join(work, "garbage.tinylm")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	t.Setenv("KALM_TEST_UNSET_KEY", "")
	for _, c := range []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"no checkpoint", []string{"serve-lm"}, 2, "want one tinylm checkpoint"},
		{"unknown key", []string{"serve-lm", "-workdir", work, "abc123"}, 1, "abc123 is no file, and 0 ground stages of work directory"},
		{"garbage", []string{"serve-lm", garbage}, 1, "garbage.tinylm"},
		{"directory without a stage", []string{"serve-lm", work}, 1, "not a ground stage's artifact"},
		{"key variable unset", []string{"serve-lm", "-api-key-env", "KALM_TEST_UNSET_KEY", garbage}, 1, "-api-key-env KALM_TEST_UNSET_KEY: the variable is not set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), c.args, &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.has) {
				t.Errorf("kalm %s: exit %d, %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.has)
			}
		})
	}
}
