package dataset

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestStepsEpisodes(t *testing.T) {
	// Five rows of a 1-d observation equal to the row index.
	obs := []float32{0, 1, 2, 3, 4}
	next := []float32{10, 11, 12, 13, 14}
	for _, tc := range []struct {
		name     string
		s        Steps
		wantObs  [][]float32
		wantTerm [][]bool
		wantTime [][]bool
		wantCut  Cut
	}{
		{
			name:     "next observations, cut at terminal and timeout",
			s:        Steps{Observations: obs, NextObservations: next, Terminals: []bool{false, true, false, false, false}, Timeouts: []bool{false, false, false, true, false}},
			wantObs:  [][]float32{{0, 1, 11}, {2, 3, 13}, {4, 14}},
			wantTerm: [][]bool{{false, true}, {false, false}, {false}},
			wantTime: [][]bool{{false, false}, {false, true}, {false}},
			wantCut:  Cut{Episodes: 3},
		},
		{
			name:     "no next observations: a terminal repeats, a timeout drops its last step",
			s:        Steps{Observations: obs, Terminals: []bool{false, true, false, false, false}, Timeouts: []bool{false, false, false, true, false}},
			wantObs:  [][]float32{{0, 1, 1}, {2, 3}},
			wantTerm: [][]bool{{false, true}, {false}},
			wantTime: [][]bool{{false, false}, {true}},
			wantCut:  Cut{Episodes: 2, Repeated: 1, Dropped: 2, DroppedEpisodes: 1},
		},
		{
			name:     "lengths decide",
			s:        Steps{Observations: obs, NextObservations: next, Terminals: []bool{false, true, false, false, false}, Lengths: []int{4, 1}, Goals: make([]Goal, 2), Success: []bool{true, false}},
			wantObs:  [][]float32{{0, 1, 2, 3, 13}, {4, 14}},
			wantTerm: [][]bool{{false, true, false, false}, {false}},
			wantTime: [][]bool{{false, false, false, false}, {false}},
			wantCut:  Cut{Episodes: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.ObsDim, s.ActionDim = 1, 1
			s.Actions = make([]float32, 5)
			s.Rewards = make([]float32, 5)
			var gotObs [][]float32
			var gotTerm, gotTime [][]bool
			cut, err := s.Episodes("train", func(e *Episode) error {
				if err := (Meta{ObsDim: 1, ActionSpace: DiscreteSpace(1)}).check(e); err != nil {
					t.Fatalf("episode %d: %v", len(gotObs), err)
				}
				gotObs, gotTerm, gotTime = append(gotObs, e.Observations), append(gotTerm, e.Terminals), append(gotTime, e.Timeouts)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotObs, tc.wantObs) || !reflect.DeepEqual(gotTerm, tc.wantTerm) ||
				!reflect.DeepEqual(gotTime, tc.wantTime) || cut != tc.wantCut {
				t.Fatalf("got obs %v terminals %v timeouts %v cut %+v\nwant obs %v terminals %v timeouts %v cut %+v",
					gotObs, gotTerm, gotTime, cut, tc.wantObs, tc.wantTerm, tc.wantTime, tc.wantCut)
			}
		})
	}
}

func TestStepsCheck(t *testing.T) {
	base := func() Steps {
		return Steps{ObsDim: 2, ActionDim: 1, Observations: make([]float32, 6), Actions: make([]float32, 3),
			Rewards: make([]float32, 3), Terminals: make([]bool, 3)}
	}
	for _, tc := range []struct {
		name   string
		damage func(*Steps)
		want   string
	}{
		{"short observations", func(s *Steps) { s.Observations = s.Observations[:5] }, "observations has 5 values, want 3 rows × 2 = 6"},
		{"long terminals", func(s *Steps) { s.Terminals = append(s.Terminals, true) }, "terminals has 4 values, want 3 rows × 1 = 3"},
		{"lengths overrun", func(s *Steps) {
			s.NextObservations = make([]float32, 6)
			s.Lengths, s.Goals, s.Success = []int{2, 2}, make([]Goal, 2), make([]bool, 2)
		}, "episode 1: length 2, want 1..1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.damage(&s)
			if err := s.Check(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReadStepsRoundTrip: a dataset read as steps and cut again is the same dataset.
func TestReadStepsRoundTrip(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	e2 := testEpisode(1, 5)
	e2.Terminals[0] = false // ends without a terminal or timeout
	writeTest(t, a, testEpisode(3, 0), e2, testEpisode(4, 9))
	s, m, err := ReadSteps(a)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Create(b, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Episodes("ignored", w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	da, err := Digest(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Digest(b)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Fatalf("digests differ after the round trip: %s, %s", da, db)
	}
}

func TestDigestAndCopy(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	writeTest(t, a, testEpisode(3, 0))
	d1, err := Digest(a)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Copy(a, b)
	if err != nil || d2 != d1 {
		t.Fatalf("Copy = %s, %v; want %s", d2, err, d1)
	}
	if _, err := Copy(a, b); err == nil {
		t.Fatal("Copy over an existing dataset succeeded")
	}
	// One reward changed: another digest.
	p := filepath.Join(a, rewardsFile)
	buf, _ := os.ReadFile(p)
	buf[0] ^= 1
	os.WriteFile(p, buf, 0o644)
	if d3, _ := Digest(a); d3 == d1 || len(d3) != 64 {
		t.Fatalf("digest %s after a change, was %s", d3, d1)
	}
}

func TestSummarizeNonFinite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	writeTest(t, dir, testEpisode(3, 0), testEpisode(2, 1))
	// Row 5 of obs.f32 (episode 1's second observation), component 1, and reward 4.
	poke := func(name string, index int, v float32) {
		p := filepath.Join(dir, name)
		buf, _ := os.ReadFile(p)
		binary.LittleEndian.PutUint32(buf[4*index:], math.Float32bits(v))
		os.WriteFile(p, buf, 0o644)
	}
	poke(obsFile, 2*5+1, float32(math.NaN()))
	poke(obsFile, 2*6, float32(math.Inf(1)))
	poke(rewardsFile, 4, float32(math.Inf(-1)))
	s, err := Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]NonFinite{obsFile: {NaN: 1, Inf: 1, First: 5}, rewardsFile: {Inf: 1, First: 4}}
	if !reflect.DeepEqual(s.NonFinite, want) {
		t.Fatalf("NonFinite = %+v, want %+v", s.NonFinite, want)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("Load accepted NaN")
	}
}
