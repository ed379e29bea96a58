//go:build mujoco

package mujoco

/*
#cgo LDFLAGS: -lmujoco
#include <mujoco/mujoco.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// MuJoCo's mju_error would print to stdout and exit; kalm_error unwinds to
// the guarded wrapper below that made the call, on this thread.
static _Thread_local jmp_buf kalm_jmp;
static _Thread_local int kalm_armed;
static _Thread_local char kalm_msg[1000];

static void kalm_error(const char* msg) {
	strncpy(kalm_msg, msg, sizeof kalm_msg - 1);
	kalm_msg[sizeof kalm_msg - 1] = 0;
	if (kalm_armed) {
		kalm_armed = 0;
		longjmp(kalm_jmp, 1);
	}
}

// Warnings are counted in mjData.warning; Step turns the instability ones into errors.
static void kalm_warning(const char* msg) { (void)msg; }

static void kalm_init(void) {
	mju_user_error = kalm_error;
	mju_user_warning = kalm_warning;
}

static void kalm_fail(char* err, int errsz) {
	strncpy(err, kalm_msg, errsz - 1);
	err[errsz - 1] = 0;
}

static mjModel* kalm_load(const char* file, const char* xml, int len, char* err, int errsz) {
	mjVFS* vfs = NULL;
	mjModel* volatile m = NULL;
	if (xml) {
		vfs = malloc(sizeof(mjVFS));
		if (!vfs) {
			strncpy(err, "out of memory for the virtual file system", errsz - 1);
			return NULL;
		}
		mj_defaultVFS(vfs);
		if (mj_makeEmptyFileVFS(vfs, file, len) != 0) {
			strncpy(err, "cannot make the in-memory MJCF file", errsz - 1);
			free(vfs);
			return NULL;
		}
		memcpy(vfs->filedata[mj_findFileVFS(vfs, file)], xml, len);
	}
	if (setjmp(kalm_jmp)) {
		kalm_fail(err, errsz);
		m = NULL;
	} else {
		kalm_armed = 1;
		m = mj_loadXML(file, vfs, err, errsz);
		kalm_armed = 0;
	}
	if (vfs) {
		mj_deleteVFS(vfs);
		free(vfs);
	}
	return m;
}

static mjData* kalm_make_data(const mjModel* m, char* err, int errsz) {
	mjData* volatile d = NULL;
	if (setjmp(kalm_jmp)) {
		kalm_fail(err, errsz);
		return NULL;
	}
	kalm_armed = 1;
	d = mj_makeData(m);
	kalm_armed = 0;
	return d;
}

// kalm_step runs n steps (forward only when n == 0). It returns 0, -1 after
// an mju_error, or 1 + the mjtWarning index of an instability warning.
static int kalm_step(const mjModel* m, mjData* d, int n, char* err, int errsz) {
	int before[mjNWARNING];
	for (int w = 0; w < mjNWARNING; w++) before[w] = d->warning[w].number;
	if (setjmp(kalm_jmp)) {
		kalm_fail(err, errsz);
		return -1;
	}
	kalm_armed = 1;
	if (n == 0) {
		mj_forward(m, d);
	} else {
		for (int i = 0; i < n; i++) mj_step(m, d);
	}
	kalm_armed = 0;
	int bad[3] = {mjWARN_BADQACC, mjWARN_BADQVEL, mjWARN_BADQPOS};
	for (int i = 0; i < 3; i++) {
		int w = bad[i];
		if (d->warning[w].number > before[w]) return 1 + w;
	}
	return 0;
}

static int kalm_reset(const mjModel* m, mjData* d, char* err, int errsz) {
	if (setjmp(kalm_jmp)) {
		kalm_fail(err, errsz);
		return -1;
	}
	kalm_armed = 1;
	mj_resetData(m, d);
	kalm_armed = 0;
	return 0;
}

// kalm_contacts copies up to max contacts: per contact 2 ints and 13 + 6 doubles.
static int kalm_contacts(const mjModel* m, const mjData* d, int* geoms, mjtNum* vals, int max) {
	int n = d->ncon < max ? d->ncon : max;
	for (int i = 0; i < n; i++) {
		const mjContact* c = d->contact + i;
		geoms[2*i] = c->geom1;
		geoms[2*i+1] = c->geom2;
		mjtNum* v = vals + 13*i;
		v[0] = c->dist;
		memcpy(v + 1, c->pos, 3 * sizeof(mjtNum));
		memcpy(v + 4, c->frame, 3 * sizeof(mjtNum));
		mj_contactForce(m, d, i, v + 7);
	}
	return n;
}

static int kalm_jnt_qposadr(const mjModel* m, int j) { return m->jnt_qposadr[j]; }
static int kalm_jnt_dofadr(const mjModel* m, int j) { return m->jnt_dofadr[j]; }
static int kalm_body_mocapid(const mjModel* m, int b) { return m->body_mocapid[b]; }
static int kalm_warning_count(const mjData* d, int w) { return d->warning[w].number; }
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"
)

// Available reports whether this build of kalm links MuJoCo.
const Available = true

func init() {
	C.kalm_init()
	for o, c := range map[Object]C.int{Body: C.mjOBJ_BODY, Joint: C.mjOBJ_JOINT, Geom: C.mjOBJ_GEOM, Site: C.mjOBJ_SITE, Actuator: C.mjOBJ_ACTUATOR} {
		if C.int(o) != c {
			panic(fmt.Sprintf("mujoco: Object %v = %d, but mjtObj says %d", o, int(o), int(c)))
		}
	}
}

// Version is the linked MuJoCo's version string, e.g. "2.2.2".
func Version() string { return C.GoString(C.mj_versionString()) }

const errSize = 1000

// Model is a compiled MuJoCo model (mjModel).
type Model struct {
	m    *C.mjModel
	name string
}

// Load compiles an MJCF document held in memory. name labels the model in
// errors (for example the plugin and scene it comes from).
func Load(name, mjcf string) (*Model, error) {
	if mjcf == "" {
		return nil, fmt.Errorf("mujoco: load %s: empty MJCF, want a <mujoco> document", name)
	}
	cfile := C.CString("model.xml")
	defer C.free(unsafe.Pointer(cfile))
	cxml := C.CString(mjcf)
	defer C.free(unsafe.Pointer(cxml))
	return load(name, cfile, cxml, C.int(len(mjcf)))
}

// LoadFile compiles an MJCF file (with any meshes or includes beside it).
func LoadFile(path string) (*Model, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("mujoco: load %s: %w", path, err)
	}
	cfile := C.CString(path)
	defer C.free(unsafe.Pointer(cfile))
	return load(filepath.Base(path), cfile, nil, 0)
}

func load(name string, file, xml *C.char, n C.int) (*Model, error) {
	runtime.LockOSThread() // the error text lives in thread-local C storage until copied
	defer runtime.UnlockOSThread()
	var buf [errSize]C.char
	m := C.kalm_load(file, xml, n, &buf[0], errSize)
	msg := strings.TrimSpace(C.GoString(&buf[0]))
	if m == nil {
		if msg == "" {
			msg = "the compiler gave no reason"
		}
		return nil, fmt.Errorf("mujoco: load %s: %s", name, msg)
	}
	md := &Model{m: m, name: name}
	runtime.SetFinalizer(md, (*Model).Close)
	return md, nil
}

// Close frees the model. Data made from it must be closed first.
func (m *Model) Close() {
	if m.m != nil {
		C.mj_deleteModel(m.m)
		m.m = nil
		runtime.SetFinalizer(m, nil)
	}
}

// Name is the label the model was loaded with.
func (m *Model) Name() string { return m.name }

// NQ, NV, NU, NBody, NGeom and NMocap are the model's sizes.
func (m *Model) NQ() int     { return int(m.m.nq) }
func (m *Model) NV() int     { return int(m.m.nv) }
func (m *Model) NU() int     { return int(m.m.nu) }
func (m *Model) NBody() int  { return int(m.m.nbody) }
func (m *Model) NGeom() int  { return int(m.m.ngeom) }
func (m *Model) NMocap() int { return int(m.m.nmocap) }

// Timestep is the simulation step in seconds.
func (m *Model) Timestep() float64 { return float64(m.m.opt.timestep) }

// ID returns the index of the named object of a kind.
func (m *Model) ID(kind Object, name string) (int, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	id := int(C.mj_name2id(m.m, C.int(kind), cname))
	if id < 0 {
		return -1, fmt.Errorf("mujoco: model %s has no %s named %q", m.name, kind, name)
	}
	return id, nil
}

// ObjectName returns the name of object id of a kind ("" if unnamed).
func (m *Model) ObjectName(kind Object, id int) string {
	s := C.mj_id2name(m.m, C.int(kind), C.int(id))
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// JointQPos is the index in qpos of a joint's first coordinate.
func (m *Model) JointQPos(joint int) int { return int(C.kalm_jnt_qposadr(m.m, C.int(joint))) }

// JointQVel is the index in qvel of a joint's first degree of freedom.
func (m *Model) JointQVel(joint int) int { return int(C.kalm_jnt_dofadr(m.m, C.int(joint))) }

// Mocap is a body's index among the mocap bodies (MocapPos rows), or -1.
func (m *Model) Mocap(body int) int { return int(C.kalm_body_mocapid(m.m, C.int(body))) }

// Data is the simulation state of one model (mjData).
type Data struct {
	m *Model
	d *C.mjData
}

// NewData allocates a state for m, at the model's reference pose.
func (m *Model) NewData() (*Data, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var buf [errSize]C.char
	d := C.kalm_make_data(m.m, &buf[0], errSize)
	if d == nil {
		return nil, &Error{Op: "make data for " + m.name, Msg: C.GoString(&buf[0])}
	}
	dd := &Data{m: m, d: d}
	runtime.SetFinalizer(dd, (*Data).Close)
	return dd, nil
}

// Close frees the state; its slices are invalid afterwards.
func (d *Data) Close() {
	if d.d != nil {
		C.mj_deleteData(d.d)
		d.d = nil
		runtime.SetFinalizer(d, nil)
	}
}

// Model is the model d simulates.
func (d *Data) Model() *Model { return d.m }

func (d *Data) call(op string, f func(err *C.char) C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var buf [errSize]C.char
	switch r := int(f(&buf[0])); {
	case r == 0:
		return nil
	case r < 0:
		return &Error{Op: op + " " + d.m.name, Msg: C.GoString(&buf[0])}
	default:
		what := map[int]string{C.mjWARN_BADQACC: "acceleration", C.mjWARN_BADQVEL: "velocity", C.mjWARN_BADQPOS: "position"}[r-1]
		return &Error{Op: op + " " + d.m.name, Msg: fmt.Sprintf("the simulation is unstable at t = %.4g s: NaN, Inf or huge %s; MuJoCo reset the state", d.Time(), what)}
	}
}

// Reset puts d back at the model's reference pose (mj_resetData): zero
// velocities, controls and time, mocap bodies at their model poses.
func (d *Data) Reset() error {
	return d.call("reset", func(err *C.char) C.int { return C.kalm_reset(d.m.m, d.d, err, errSize) })
}

// Step advances the simulation by n timesteps (mj_step each). An unstable
// simulation (NaN, Inf or huge accelerations) is an error.
func (d *Data) Step(n int) error {
	if n < 1 {
		return fmt.Errorf("mujoco: step %s: n = %d, want ≥ 1", d.m.name, n)
	}
	return d.call("step", func(err *C.char) C.int { return C.kalm_step(d.m.m, d.d, C.int(n), err, errSize) })
}

// Forward recomputes everything derived from the state (mj_forward): body
// poses, contacts, forces. Call it after writing qpos or mocap poses and
// before reading XPos or Contacts without stepping.
func (d *Data) Forward() error {
	return d.call("forward", func(err *C.char) C.int { return C.kalm_step(d.m.m, d.d, 0, err, errSize) })
}

// Time is the simulation time in seconds.
func (d *Data) Time() float64 { return float64(d.d.time) }

func slice(p *C.mjtNum, n C.int) []float64 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(p)), int(n))
}

// QPos, QVel and Ctrl are MuJoCo's own arrays (nq, nv, nu): writes go
// straight into the simulation state.
func (d *Data) QPos() []float64 { return slice(d.d.qpos, d.m.m.nq) }
func (d *Data) QVel() []float64 { return slice(d.d.qvel, d.m.m.nv) }
func (d *Data) Ctrl() []float64 { return slice(d.d.ctrl, d.m.m.nu) }

// QFrcApplied is the generalised force applied to each degree of freedom (nv),
// kept across steps; Reset zeroes it.
func (d *Data) QFrcApplied() []float64 { return slice(d.d.qfrc_applied, d.m.m.nv) }

// MocapPos and MocapQuat are the mocap bodies' targets, 3 and 4 numbers each.
func (d *Data) MocapPos() []float64  { return slice(d.d.mocap_pos, 3*d.m.m.nmocap) }
func (d *Data) MocapQuat() []float64 { return slice(d.d.mocap_quat, 4*d.m.m.nmocap) }

// XPos and XQuat are every body's world position and orientation (3 and 4
// numbers a body), as of the last Step or Forward.
func (d *Data) XPos() []float64  { return slice(d.d.xpos, 3*d.m.m.nbody) }
func (d *Data) XQuat() []float64 { return slice(d.d.xquat, 4*d.m.m.nbody) }

// BodyPos is one body's world position.
func (d *Data) BodyPos(body int) [3]float64 {
	x := d.XPos()[3*body:]
	return [3]float64{x[0], x[1], x[2]}
}

// Contacts returns the contacts of the last Step or Forward, appended to dst.
func (d *Data) Contacts(dst []Contact) []Contact {
	n := int(d.d.ncon)
	if n == 0 {
		return dst
	}
	geoms := make([]C.int, 2*n)
	vals := make([]C.mjtNum, 13*n)
	n = int(C.kalm_contacts(d.m.m, d.d, &geoms[0], &vals[0], C.int(n)))
	for i := 0; i < n; i++ {
		v := vals[13*i:]
		c := Contact{Geom1: int(geoms[2*i]), Geom2: int(geoms[2*i+1]), Dist: float64(v[0])}
		for k := 0; k < 3; k++ {
			c.Pos[k], c.Normal[k] = float64(v[1+k]), float64(v[4+k])
		}
		for k := 0; k < 6; k++ {
			c.Force[k] = float64(v[7+k])
		}
		dst = append(dst, c)
	}
	return dst
}
