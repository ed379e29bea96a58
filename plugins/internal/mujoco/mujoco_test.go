//go:build mujoco

package mujoco

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// drop is a box that falls onto a plane, and a mocap body carrying a sphere.
const drop = `<mujoco model="drop">
  <option timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" size="1 1 0.1"/>
    <body name="box" pos="0 0 0.5">
      <freejoint name="box"/>
      <geom name="box" type="box" size="0.05 0.05 0.05" mass="1"/>
    </body>
    <body name="hand" mocap="true" pos="0.5 0 0.3">
      <geom name="hand" type="sphere" size="0.02" contype="0" conaffinity="0"/>
    </body>
  </worldbody>
</mujoco>`

func open(t *testing.T, xml string) (*Model, *Data) {
	t.Helper()
	m, err := Load("test", xml)
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.NewData()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); m.Close() })
	return m, d
}

func TestVersion(t *testing.T) {
	if v := Version(); !strings.HasPrefix(v, "2.") {
		t.Fatalf("Version() = %q, want MuJoCo 2.x", v)
	}
}

// TestDrop drops the box for one simulated second: it must come to rest on
// the floor (centre at its half size) in contact with it.
func TestDrop(t *testing.T) {
	m, d := open(t, drop)
	if m.NQ() != 7 || m.NV() != 6 || m.NMocap() != 1 || m.NBody() != 3 {
		t.Fatalf("sizes nq %d nv %d nmocap %d nbody %d, want 7 6 1 3", m.NQ(), m.NV(), m.NMocap(), m.NBody())
	}
	box, err := m.ID(Body, "box")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Step(500); err != nil {
		t.Fatal(err)
	}
	if got := d.Time(); math.Abs(got-1) > 1e-9 {
		t.Fatalf("time %v after 500 steps of 2 ms, want 1", got)
	}
	z := d.BodyPos(box)[2]
	if math.Abs(z-0.05) > 0.002 || math.Abs(d.QPos()[2]-z) > 1e-12 {
		t.Fatalf("box rests at z = %v (qpos %v), want 0.05 ± 0.002", z, d.QPos()[2])
	}
	cs := d.Contacts(nil)
	if len(cs) == 0 {
		t.Fatal("no contacts between the resting box and the floor")
	}
	floor, _ := m.ID(Geom, "floor")
	var normal float64
	for _, c := range cs {
		if c.Geom1 != floor && c.Geom2 != floor {
			t.Fatalf("contact %+v does not involve the floor", c)
		}
		normal += c.Force[0]
	}
	if math.Abs(normal-9.81) > 0.5 {
		t.Fatalf("contact normal forces sum to %v N, want the box's weight 9.81 N", normal)
	}
}

// TestState writes qpos, qvel and the mocap pose and reads them back through Forward.
func TestState(t *testing.T) {
	m, d := open(t, drop)
	hand, _ := m.ID(Body, "hand")
	if k := m.Mocap(hand); k != 0 {
		t.Fatalf("Mocap(hand) = %d, want 0", k)
	}
	copy(d.MocapPos(), []float64{0.1, 0.2, 0.3})
	d.QPos()[0] = 0.25
	d.QVel()[0] = 1
	if err := d.Forward(); err != nil {
		t.Fatal(err)
	}
	if p := d.BodyPos(hand); p != [3]float64{0.1, 0.2, 0.3} {
		t.Fatalf("hand at %v after moving its mocap, want [0.1 0.2 0.3]", p)
	}
	box, _ := m.ID(Body, "box")
	if x := d.BodyPos(box)[0]; x != 0.25 {
		t.Fatalf("box x = %v after writing qpos, want 0.25", x)
	}
	if err := d.Step(1); err != nil {
		t.Fatal(err)
	}
	if x := d.QPos()[0]; math.Abs(x-0.252) > 1e-9 {
		t.Fatalf("box x = %v after one step at 1 m/s, want 0.252", x)
	}
	if err := d.Reset(); err != nil {
		t.Fatal(err)
	}
	if x, v, p := d.QPos()[2], d.QVel()[0], d.MocapPos()[0]; x != 0.5 || v != 0 || p != 0.5 {
		t.Fatalf("after Reset: z %v, vx %v, mocap x %v; want 0.5, 0, 0.5", x, v, p)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "drop.xml")
	if err := os.WriteFile(file, []byte(drop), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := LoadFile(file); err != nil {
		t.Fatalf("LoadFile: %v", err)
	} else {
		m.Close()
	}
	for _, tc := range []struct{ name, xml, want string }{
		{"empty", "", "empty MJCF"},
		{"not xml", "hello", "test"},
		{"unknown element", `<mujoco><worldbody><bogus/></worldbody></mujoco>`, "bogus"},
		{"bad attribute", `<mujoco><worldbody><geom type="sphere" size="-1"/></worldbody></mujoco>`, "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("test", tc.xml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load(%q) = %v, want an error mentioning %q", tc.xml, err, tc.want)
			}
		})
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.xml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadFile(missing) = %v, want ErrNotExist", err)
	}
	m, _ := open(t, drop)
	if _, err := m.ID(Body, "nosuch"); err == nil || !strings.Contains(err.Error(), `no body named "nosuch"`) {
		t.Fatalf("ID(nosuch) = %v", err)
	}
}

// TestUnstable feeds MuJoCo a NaN velocity: Step must fail with an error, not crash or print.
func TestUnstable(t *testing.T) {
	_, d := open(t, drop)
	d.QVel()[2] = math.NaN()
	err := d.Step(1)
	var me *Error
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "unstable") {
		t.Fatalf("Step with a NaN velocity = %v, want an unstable-simulation *Error", err)
	}
	if v := d.QVel()[2]; math.IsNaN(v) {
		t.Fatal("MuJoCo left the NaN in place; it resets the state on bad numbers")
	}
}

func BenchmarkStep(b *testing.B) {
	m, err := Load("bench", drop)
	if err != nil {
		b.Fatal(err)
	}
	d, _ := m.NewData()
	for i := 0; i < b.N; i++ {
		if err := d.Step(1); err != nil {
			b.Fatal(err)
		}
	}
}
