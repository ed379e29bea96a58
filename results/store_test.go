package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

func TestOpenCreatesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "results.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	s.DB().QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q", mode)
	}
	cells, err := s.CellStates(ctx, "exp1")
	if err != nil || len(cells) != 2 || cells[0].Status != Done || cells[1].Status != Failed {
		t.Fatalf("cells = %+v, %v", cells, err)
	}
	if !strings.Contains(cells[1].Error, "boom") {
		t.Errorf("failed cell error = %q", cells[1].Error)
	}
	ev, err := s.Evaluations(ctx, "exp1")
	if err != nil || len(ev) != 1 || ev[0].SuccessRate != 0.5 || ev[0].Params["algo"] != "bc" {
		t.Fatalf("evaluations = %+v, %v", ev, err)
	}
	sums, err := s.ExperimentSummaries(ctx)
	if err != nil || len(sums) != 1 || sums[0].Done != 1 || sums[0].Failed != 1 {
		t.Fatalf("summaries = %+v, %v", sums, err)
	}
}

// fill records one experiment with a done cell and a failed cell.
func fill(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	stages := []Stage{
		{Key: "c1", Kind: "collect", Plugin: "clevr", PluginVersion: "v1", Config: "{}"},
		{Key: "t1", Kind: "train", Plugin: "bc", PluginVersion: "v1", Config: "{}", Inputs: []string{"c1"}},
		{Key: "e1", Kind: "evaluate", Plugin: "clevr", PluginVersion: "v1", Config: "{}", Inputs: []string{"t1"}},
		{Key: "t2", Kind: "train", Plugin: "cql", PluginVersion: "v1", Config: "{}", Inputs: []string{"c1"}},
		{Key: "e2", Kind: "evaluate", Plugin: "clevr", PluginVersion: "v1", Config: "{}", Inputs: []string{"t2"}},
	}
	cells := []Cell{
		{ID: "algo=bc seed=0", Group: "algo=bc", Params: `{"algo":"bc"}`, Stages: map[string]string{"collect": "c1", "train": "t1", "evaluate": "e1"}},
		{ID: "algo=cql seed=0", Group: "algo=cql", Params: `{"algo":"cql"}`, Stages: map[string]string{"collect": "c1", "train": "t2", "evaluate": "e2"}},
	}
	err := s.PutExperiment(ctx, Experiment{ID: "exp1", Name: "quick", Source: "q.yaml", Given: "x", Config: "{}", KalmVersion: "dev", Host: "h",
		Environment: map[string]string{"go": "1.26"}}, cells, stages, []Plugin{{Kind: "env", Name: "clevr", Version: "v1", Checksum: "abc", Path: "/bin/x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"c1", "t1", "e1"} {
		if err := s.StartStage(ctx, k, "test:1"); err != nil {
			t.Fatal(err)
		}
		o := Outcome{Artifact: Artifact{Path: "artifacts/" + k}}
		if k == "t1" {
			o.Metrics = []Metric{{Step: 1, Name: "loss", Value: 2}, {Step: 2, Name: "loss", Value: 1}}
		}
		if k == "e1" {
			o.Evaluations = []Evaluation{{Checkpoint: 2, Level: "train", Episodes: 10, SuccessRate: 0.5, MeanReturn: 3}}
		}
		if err := s.FinishStage(ctx, k, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StartStage(ctx, "t2", "test:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.FailStage(ctx, "t2", Failed, "boom", "last line"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("this is not a database, just some text that is long enough"), 0o644)

	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite3", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES(1, 9.5)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A kalm database whose pages were damaged after the header.
	corrupt := filepath.Join(dir, "corrupt.db")
	s, err := Open(ctx, corrupt)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	s.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	s.Close()
	b, _ := os.ReadFile(corrupt)
	for i := 4096; i < len(b); i++ {
		b[i] = 0xA5
	}
	os.WriteFile(corrupt, b, 0o644)
	os.Remove(corrupt + "-wal")
	os.Remove(corrupt + "-shm")

	cases := []struct {
		path string
		want error
		msg  string
	}{
		{garbage, ErrCorrupt, "no SQLite header"},
		{foreign, ErrForeign, "application_id 0x0, 1 tables"},
		{corrupt, ErrCorrupt, "corrupted"},
	}
	for _, c := range cases {
		before, _ := os.ReadFile(c.path)
		s, err := Open(ctx, c.path)
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", c.path)
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: err = %v, want %v containing %q", c.path, err, c.want, c.msg)
		}
		after, _ := os.ReadFile(c.path)
		if string(before) != string(after) {
			t.Errorf("%s: the refused file was changed", c.path)
		}
	}
}

func TestOpenReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; use a read-only bind of /proc instead.
		_, err := Open(context.Background(), "/proc/kalm-results.db")
		if err == nil || !strings.Contains(err.Error(), "/proc/kalm-results.db") {
			t.Fatalf("err = %v", err)
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	_, err := Open(context.Background(), filepath.Join(dir, "results.db"))
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "results.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	s.DB().Exec("PRAGMA user_version = 99")
	s.Close()
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version 99 is newer than this kalm knows (%d)", len(migrations))) {
		t.Fatalf("err = %v", err)
	}
}

func TestMarkInterrupted(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s)
	s.StartStage(ctx, "e2", "hostA:1")
	s.StartStage(ctx, "t2", "hostA:2")
	n, err := s.MarkInterrupted(ctx, func(owner string) bool { return owner == "hostA:2" })
	if err != nil || n != 1 {
		t.Fatalf("marked %d, %v", n, err)
	}
	st, _ := s.Stages(ctx, []string{"e2", "t1"})
	if st["e2"].Status != Interrupted || st["e2"].Attempts != 1 || st["t1"].Status != Done {
		t.Fatalf("stages %+v", st)
	}
	if st, _ := s.Stages(ctx, []string{"t2"}); st["t2"].Status != Running {
		t.Fatalf("a live owner's stage was marked: %+v", st["t2"])
	}
}

func TestMigratesOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "results.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	// Turn it into a version-1 database, as the first kalm wrote it.
	if _, err := s.DB().Exec("ALTER TABLE stages DROP COLUMN owner; ALTER TABLE stages DROP COLUMN job; ALTER TABLE stages DROP COLUMN job_state; ALTER TABLE experiments DROP COLUMN overrides; DROP TABLE meta; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	s.DB().QueryRow("PRAGMA user_version").Scan(&v)
	if v != len(migrations) {
		t.Fatalf("user_version %d after migration, want %d", v, len(migrations))
	}
	if err := s.StartStage(ctx, "e2", "h:1"); err != nil {
		t.Fatalf("migrated schema: %v", err)
	}
	if ev, err := s.Evaluations(ctx, "exp1"); err != nil || len(ev) != 1 {
		t.Fatalf("data lost in migration: %v %v", ev, err)
	}
	if e, err := s.FindExperiment(ctx, "exp1"); err != nil || len(e.Overrides) != 0 || e.Name != "quick" {
		t.Fatalf("migrated experiment: %+v, %v", e, err)
	}
}
