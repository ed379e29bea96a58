package clevr

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDecodeAction(t *testing.T) {
	tests := []struct{ a, ball, dir int }{{0, 0, 0}, {7, 0, 7}, {8, 1, 0}, {28, 3, 4}, {39, 4, 7}}
	for _, tc := range tests {
		b, d, err := DecodeAction(tc.a, 5)
		if err != nil || b != tc.ball || d != tc.dir {
			t.Errorf("DecodeAction(%d) = %d, %d, %v; want %d, %d", tc.a, b, d, err, tc.ball, tc.dir)
		}
		if EncodeAction(b, d) != tc.a {
			t.Errorf("EncodeAction(%d, %d) != %d", b, d, tc.a)
		}
	}
	for _, a := range []int{-1, 40, 1000} {
		if _, _, err := DecodeAction(a, 5); err == nil {
			t.Errorf("DecodeAction(%d): no error", a)
		}
	}
	if Directions[4] != [2]float64{0.8, 0.8} || Directions[3] != [2]float64{0, -1} {
		t.Errorf("direction table changed: %v", Directions)
	}
}

func TestSampleSceneInvariants(t *testing.T) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(7, 8))
	overlap := 0
	for k := 0; k < 400; k++ {
		p, err := SampleScene(&cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			x, y := p[2*i], p[2*i+1]
			if x < -0.5 || x > 0.5 || y < -0.3 || y > 0.5 {
				t.Fatalf("ball %d at (%g, %g) outside the sampling box", i, x, y)
			}
			for j := 0; j < i; j++ {
				dx, dy := x-p[2*j], y-p[2*j+1]
				if math.Hypot(dx, dy) < 0.36 || math.Abs(dx) < 0.01 || math.Abs(dy) < 0.01 {
					t.Fatalf("balls %d and %d violate the spacing rule: d = (%g, %g)", i, j, dx, dy)
				}
			}
		}
		if overlapsWall(&cfg, p) {
			overlap++
		}
	}
	// The spec measured 93 % of scenes with a ball inside a wall.
	if share := float64(overlap) / 400; share < 0.85 || share > 0.98 {
		t.Errorf("%.0f%% of scenes overlap a wall, want about 93%%", 100*share)
	}
	cfg.Overlap = OverlapReject
	for k := 0; k < 50; k++ {
		p, err := SampleScene(&cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		if overlapsWall(&cfg, p) {
			t.Fatalf("overlap=reject sampled a ball inside a wall: %v", p)
		}
	}
	cfg.SampleXMin, cfg.SampleXMax = 0, 0.1
	if _, err := SampleScene(&cfg, rng); err == nil {
		t.Error("impossible sampling box: no error")
	}
}

// scene puts red at a and blue at b, the others far away in the corners.
func scene(ax, ay, bx, by float32) []float32 {
	return []float32{ax, ay, bx, by, -0.45, 0.55, 0.45, 0.55, 0.45, -0.15}
}

func TestRelationJudge(t *testing.T) {
	j, _ := NewJudge(DefaultConfig())
	orig := OriginalConfig()
	jo, _ := NewJudge(orig)
	red, blue := 0, 1
	tests := []struct {
		name      string
		obs       []float32
		dir       int
		kalm, org bool
	}{
		{"red right of blue", scene(0.3, 0, 0, 0), RelRight, true, true},
		{"red behind blue (+y)", scene(0, 0.3, 0, 0), RelBehind, true, false},
		{"red front of blue (+y) original", scene(0, 0.3, 0, 0), RelFront, false, true},
		{"red front of blue (−y)", scene(0, -0.3, 0, 0), RelFront, true, false},
		{"red left of blue", scene(-0.3, 0, 0, 0), RelLeft, true, true},
		{"too far (0.40)", scene(0.4, 0, 0, 0), RelRight, false, true},
		{"just within 0.3905", scene(0.3905, 0, 0, 0), RelRight, true, true},
		{"45° goes to behind (half-open)", scene(0.2, 0.2, 0, 0), RelBehind, true, false},
		{"45° is not right", scene(0.2, 0.2, 0, 0), RelRight, false, true},
		{"−44° is right", scene(0.2, -0.193, 0, 0), RelRight, true, true},
		{"exactly −45° falls to front (KALM 1e-6 quirk)", scene(0.2, -0.2, 0, 0), RelFront, true, false},
		{"tiny dy zeroed", scene(0.3, 0.0009, 0, 0), RelRight, true, true},
		{"original cone 0.6: 60° not right", scene(0.15, 0.26, 0, 0), RelRight, false, false},
	}
	for _, tc := range tests {
		r := Relation{red, blue, tc.dir}
		if got := j.RelationHolds(tc.obs, r); got != tc.kalm {
			t.Errorf("%s: KALM judge %v, want %v", tc.name, got, tc.kalm)
		}
		if got := jo.RelationHolds(tc.obs, r); got != tc.org {
			t.Errorf("%s: original judge %v, want %v", tc.name, got, tc.org)
		}
	}
}

func TestRewardsAndTerminals(t *testing.T) {
	j, _ := NewJudge(DefaultConfig())
	task := Task{Level: LevelTrain, Kind: KindRelation, Relations: []Relation{{0, 1, RelRight}}}
	// Red moves from (−0.3, 0) to (0, 0.1) then to (0.3, 0) right of blue at (0, 0.2)... use blue at origin.
	obs := append(append(scene(-0.3, 0, 0, 0.3), scene(-0.05, 0, 0, 0.3)...), scene(0.3, 0.25, 0, 0.3)...)
	obs = append(obs, scene(0.3, 0.2, 0, 0.3)...)
	l, err := j.Label(&task, obs, []int{0, 4, 1})
	if err != nil {
		t.Fatal(err)
	}
	// Target point t = blue + (0.195, 0) = (0.195, 0.3).
	d0 := math.Hypot(-0.3-0.195, -0.3)
	d1 := math.Hypot(-0.05-0.195, -0.3)
	if want := float32(10 * (d0 - d1)); math.Abs(float64(l.Rewards[0]-want)) > 1e-5 {
		t.Errorf("step 0 reward %g, want %g", l.Rewards[0], want)
	}
	if l.Rewards[1] != 100 || !l.Terminals[1] || l.Terminals[0] || l.Steps != 2 || !l.Any {
		t.Errorf("labels %+v, want success and terminal at step 1 with reward 100", l)
	}
	if l.Rewards[2] != 0 || l.Terminals[2] {
		t.Errorf("step after the terminal: reward %g terminal %v, want 0 false", l.Rewards[2], l.Terminals[2])
	}
	// Original settings: binary reward on every step the goal holds, no terminal.
	jo, _ := NewJudge(OriginalConfig())
	lo, _ := jo.Label(&task, obs, []int{0, 4, 1})
	if lo.Rewards[0] != 0 || lo.Rewards[1] != 1 || lo.Rewards[2] != 1 || lo.Terminals[1] || lo.Steps != 3 {
		t.Errorf("original labels %+v, want rewards 0 1 1 and no terminal", lo)
	}
	// ImagineBench shaping: 10·Δ|A − B|.
	ib := DefaultConfig()
	ib.Reward = RewardIB
	jb, _ := NewJudge(ib)
	lb, _ := jb.Label(&task, obs[:20], []int{0})
	if want := float32(10 * (math.Hypot(-0.3, -0.3) - math.Hypot(-0.05, -0.3))); math.Abs(float64(lb.Rewards[0]-want)) > 1e-5 {
		t.Errorf("ib reward %g, want %g", lb.Rewards[0], want)
	}
}

func TestEasyJudge(t *testing.T) {
	j, _ := NewJudge(DefaultConfig())
	cfgS := DefaultConfig()
	cfgS.EasyJudge = EasyJudgeState
	js, _ := NewJudge(cfgS)
	before := scene(0, 0, 0.3, 0.3)
	movedUp := scene(0, 0.2, 0.3, 0.3)
	nudged := scene(0.01, 0.02, 0.3, 0.3)
	up := Task{Level: LevelEasy, Kind: KindMove, Ball: 0, Dir: RelBehind}
	still := Task{Level: LevelEasy, Kind: KindStill}
	cases := []struct {
		name         string
		task         Task
		after        []float32
		act          int
		wantA, wantS bool
	}{
		{"push red +y", up, movedUp, EncodeAction(0, DirPosY), true, true},
		{"push red diagonal +x+y counts", up, movedUp, EncodeAction(0, DirPXPY), true, true},
		{"push red +x does not", up, movedUp, EncodeAction(0, DirPosX), false, true},
		{"push blue +y does not", up, movedUp, EncodeAction(1, DirPosY), false, true},
		{"still: small moves", still, nudged, EncodeAction(0, DirPosY), true, true},
		{"still: a ball moved", still, movedUp, EncodeAction(0, DirPosY), false, false},
	}
	for _, tc := range cases {
		obs := append(append([]float32(nil), before...), tc.after...)
		obs = append(obs, tc.after...)
		l, err := j.Label(&tc.task, obs, []int{tc.act, tc.act})
		if err != nil {
			t.Fatal(err)
		}
		if l.Any != tc.wantA || !l.Terminals[0] || l.Steps != 1 || l.Rewards[1] != 0 {
			t.Errorf("%s (action judge): %+v, want success %v, terminal after one step", tc.name, l, tc.wantA)
		}
		if tc.wantA && l.Rewards[0] != 1 {
			t.Errorf("%s: reward %g, want 1", tc.name, l.Rewards[0])
		}
		ls, _ := js.Label(&tc.task, obs, []int{tc.act, tc.act})
		if ls.Any != tc.wantS {
			t.Errorf("%s (state judge): success %v, want %v", tc.name, ls.Any, tc.wantS)
		}
	}
}

func TestHardJudge(t *testing.T) {
	j, _ := NewJudge(DefaultConfig())
	line := []float32{-0.4, 0, -0.2, 0.05, 0, 0.1, 0.2, 0.1, 0.4, 0}
	notLine := []float32{-0.4, 0, -0.2, 0.05, 0, 0.3, 0.2, 0.1, 0.4, 0} // blue→green 51°, green→purple −45°
	gather := []float32{0, 0.3, 0, 0, 0, 0.1, 0.3, 0.1, -0.3, 0.1}
	lineT, gatherT := Task{Level: LevelHard, Kind: KindLine}, Task{Level: LevelHard, Kind: KindGather}
	if !j.Holds(&lineT, line) || j.Holds(&lineT, notLine) {
		t.Error("line judge wrong")
	}
	if n, _ := j.satisfied(&lineT, notLine); n != 2 {
		t.Errorf("line sub-conditions %d, want 2", n)
	}
	if !j.Holds(&gatherT, gather) {
		t.Error("gather judge: all within 0.325 of green, not accepted")
	}
	gather[0] = 0.33 // red now 0.3397 from green
	if j.Holds(&gatherT, gather) {
		t.Error("gather judge accepted a ball 0.34 away")
	}
	two := Task{Level: LevelHard, Kind: KindRelations, Relations: []Relation{{0, 1, RelRight}, {2, 3, RelLeft}}}
	a := []float32{0.3, 0, 0, 0, -0.2, 0.4, 0.1, 0.4, 0.45, -0.15}  // red right of blue, green left of purple
	b := []float32{-0.3, 0, 0, 0, -0.2, 0.4, 0.1, 0.4, 0.45, -0.15} // only the second
	c := []float32{-0.3, 0, 0, 0, 0.4, -0.1, 0.1, 0.4, 0.45, 0.45}  // neither
	obs := append(append(append([]float32(nil), c...), b...), a...)
	l, err := j.Label(&two, obs, []int{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if l.Rewards[0] != 10 || l.Rewards[1] != 100 || !l.Terminals[1] || !l.Any {
		t.Errorf("two relations: %+v, want rewards 10, 100 and success", l)
	}
}

func TestJudgeRejectsBadInput(t *testing.T) {
	j, _ := NewJudge(DefaultConfig())
	task := Task{Level: LevelTrain, Kind: KindRelation, Relations: []Relation{{0, 1, RelRight}}}
	good := append(scene(0, 0, 0.3, 0), scene(0, 0, 0.3, 0)...)
	if _, err := j.Label(&task, good[:15], []int{0}); err == nil {
		t.Error("short observations: no error")
	}
	if _, err := j.Label(&task, good, []int{40}); err == nil {
		t.Error("action 40: no error")
	}
	bad := Task{Level: LevelTrain, Kind: KindRelation, Relations: []Relation{{0, 0, RelRight}}}
	if _, err := j.Label(&bad, good, []int{0}); err == nil {
		t.Error("src = dst: no error")
	}
	nan := append([]float32(nil), good...)
	nan[3] = float32(math.NaN())
	if _, err := j.Label(&task, nan, []int{0}); err == nil {
		t.Error("NaN observation: no error")
	}
}
