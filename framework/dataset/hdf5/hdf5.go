//go:build hdf5

package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	gh "gonum.org/v1/hdf5"

	"github.com/kalm-go/kalm/framework/dataset/npz"
)

// Available reports whether this build reads HDF5.
const Available = true

// Bounds on what Read walks: group depth (hard links can make cycles) and objects.
const (
	maxDepth   = 16
	maxObjects = 1 << 20
)

// Read reads every numeric dataset of the HDF5 file at path as an array named
// by its path without the leading slash ("observations", "infos/goal",
// "episode_0/actions"). Datasets of other types are returned as arrays with
// no elements and an empty Descr, so callers can list them as ignored.
func Read(path string) ([]*npz.Array, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !gh.IsHDF5(path) {
		return nil, fmt.Errorf("%s: not an HDF5 file", path)
	}
	f, err := gh.OpenFile(path, gh.F_ACC_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	// Deflate expands at most 1032:1: no dataset can honestly hold more.
	r := &reader{limit: max(st.Size(), 1<<10) * 1032}
	if err := r.walk(&f.CommonFG, "", 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r.out, nil
}

type reader struct {
	limit   int64
	objects int
	out     []*npz.Array
}

func (r *reader) walk(g *gh.CommonFG, prefix string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: groups nest deeper than %d", prefix, maxDepth)
	}
	n, err := g.NumObjects()
	if err != nil {
		return fmt.Errorf("%s: %w", orRoot(prefix), err)
	}
	for i := range n {
		if r.objects++; r.objects > maxObjects {
			return fmt.Errorf("more than %d objects", maxObjects)
		}
		name, err := g.ObjectNameByIndex(i)
		if err != nil {
			return fmt.Errorf("%s: object %d: %w", orRoot(prefix), i, err)
		}
		typ, err := g.ObjectTypeByIndex(i)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix+name, err)
		}
		switch typ {
		case gh.H5G_GROUP:
			sub, err := g.OpenGroup(name)
			if err != nil {
				return fmt.Errorf("%s: %w", prefix+name, err)
			}
			err = r.walk(&sub.CommonFG, prefix+name+"/", depth+1)
			sub.Close()
			if err != nil {
				return err
			}
		case gh.H5G_DATASET:
			d, err := g.OpenDataset(name)
			if err != nil {
				return fmt.Errorf("%s: %w", prefix+name, err)
			}
			a, err := r.read(d, prefix+name)
			d.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", prefix+name, err)
			}
			r.out = append(r.out, a)
		}
	}
	return nil
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// descrs maps HDF5's standard numeric types to NumPy dtype strings.
var descrs = []struct {
	t     *gh.Datatype
	descr string
}{
	{gh.T_IEEE_F32LE, "<f4"}, {gh.T_IEEE_F32BE, ">f4"}, {gh.T_IEEE_F64LE, "<f8"}, {gh.T_IEEE_F64BE, ">f8"},
	{gh.T_STD_I8LE, "|i1"}, {gh.T_STD_I8BE, "|i1"}, {gh.T_STD_U8LE, "|u1"}, {gh.T_STD_U8BE, "|u1"},
	{gh.T_STD_I16LE, "<i2"}, {gh.T_STD_I16BE, ">i2"}, {gh.T_STD_U16LE, "<u2"}, {gh.T_STD_U16BE, ">u2"},
	{gh.T_STD_I32LE, "<i4"}, {gh.T_STD_I32BE, ">i4"}, {gh.T_STD_U32LE, "<u4"}, {gh.T_STD_U32BE, ">u4"},
	{gh.T_STD_I64LE, "<i8"}, {gh.T_STD_I64BE, ">i8"}, {gh.T_STD_U64LE, "<u8"}, {gh.T_STD_U64BE, ">u8"},
}

// read reads one dataset through its own file type and decodes the bytes
// as the .npy array they are.
func (r *reader) read(d *gh.Dataset, name string) (*npz.Array, error) {
	space := d.Space()
	if space == nil {
		return nil, errors.New("no dataspace")
	}
	defer space.Close()
	nd := space.SimpleExtentNDims()
	if nd < 0 || nd > 8 {
		return nil, fmt.Errorf("%d dimensions, want 0..8", nd)
	}
	shape := []int{}
	n := int64(1)
	if nd > 0 {
		dims, _, err := space.SimpleExtentDims()
		if err != nil {
			return nil, err
		}
		for _, x := range dims {
			if x > math.MaxInt32 || (x > 0 && n > math.MaxInt64/int64(x)) {
				return nil, fmt.Errorf("shape %v is too large", dims)
			}
			shape = append(shape, int(x))
			n *= int64(x)
		}
	}
	dt, err := d.Datatype()
	if err != nil {
		return nil, err
	}
	defer dt.Close()
	descr := ""
	for _, c := range descrs {
		if dt.Equal(c.t) {
			descr = c.descr
			break
		}
	}
	if descr == "" && dt.Class() == gh.T_ENUM && dt.Size() == 1 {
		descr = "|u1" // h5py's bool: an enum of FALSE = 0, TRUE = 1
	}
	if descr == "" {
		return &npz.Array{Name: name, Shape: shape}, nil // not numeric: ignored
	}
	size := int64(dt.Size())
	if n > 0 && size > r.limit/n {
		return nil, fmt.Errorf("shape %v of %d-byte elements exceeds what the file can hold", shape, size)
	}
	buf := make([]byte, n*size)
	if n > 0 {
		if err := d.Read(&buf); err != nil {
			return nil, err
		}
	}
	var npy bytes.Buffer
	npy.WriteString("\x93NUMPY\x02\x00")
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }\n", descr, shapeTuple(shape))
	npy.Write([]byte{byte(len(h)), byte(len(h) >> 8), byte(len(h) >> 16), byte(len(h) >> 24)})
	npy.WriteString(h)
	npy.Write(buf)
	return npz.ReadNpy(&npy, name, r.limit)
}

func shapeTuple(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	if len(s) == 1 {
		return s[0] + ","
	}
	return strings.Join(s, ", ")
}

// Import converts the HDF5 file at path, in D4RL or Minari layout, into a
// dataset at outDir.
func Import(path, outDir string, opt npz.Options) (npz.Report, error) {
	arrays, err := Read(path)
	if err != nil {
		return npz.Report{}, err
	}
	if opt.From == "" {
		opt.From = path
	}
	var ignored []string
	numeric := arrays[:0:0]
	for _, a := range arrays {
		if a.Descr == "" {
			ignored = append(ignored, a.Name)
		} else {
			numeric = append(numeric, a)
		}
	}
	if eps := episodes(numeric); len(eps) > 0 {
		if numeric, err = minari(numeric, eps); err != nil {
			return npz.Report{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	rep, err := npz.ImportArrays(numeric, outDir, opt)
	rep.Ignored = append(rep.Ignored, ignored...)
	sort.Strings(rep.Ignored)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

var episodeGroup = regexp.MustCompile(`^episode_(\d+)/`)

// episodes returns the Minari episode numbers present, in order.
func episodes(arrays []*npz.Array) []int {
	seen := map[int]bool{}
	for _, a := range arrays {
		if m := episodeGroup.FindStringSubmatch(a.Name); m != nil {
			if k, err := strconv.Atoi(m[1]); err == nil {
				seen[k] = true
			}
		}
	}
	var out []int
	for k := range seen {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// minari lays Minari's episode groups end to end as D4RL-style arrays.
func minari(arrays []*npz.Array, eps []int) ([]*npz.Array, error) {
	byName := map[string]*npz.Array{}
	for _, a := range arrays {
		byName[a.Name] = a
	}
	cols := map[string]*column{}
	order := []string{"observations", "next_observations", "actions", "rewards", "terminals", "timeouts", "goal_vectors"}
	for _, name := range order {
		cols[name] = &column{name: name}
	}
	var rest []*npz.Array
	for _, a := range arrays {
		if !episodeGroup.MatchString(a.Name) {
			rest = append(rest, a)
		}
	}
	for _, k := range eps {
		p := fmt.Sprintf("episode_%d/", k)
		get := func(names ...string) *npz.Array {
			for _, n := range names {
				if a, ok := byName[p+n]; ok {
					return a
				}
			}
			return nil
		}
		obs := get("observations", "observations/observation")
		act, rew := get("actions"), get("rewards")
		term, trunc := get("terminations", "terminals"), get("truncations", "timeouts")
		if obs == nil || act == nil || rew == nil || term == nil {
			return nil, fmt.Errorf("%s: want observations, actions, rewards and terminations", strings.TrimSuffix(p, "/"))
		}
		t := rew.Rows()
		if obs.Rows() != t+1 {
			return nil, fmt.Errorf("%s: %d observations for %d rewards, want T+1", obs.Name, obs.Rows(), t)
		}
		if t == 0 {
			continue
		}
		cols["observations"].add(obs, 0, t)
		cols["next_observations"].add(obs, 1, t+1)
		cols["actions"].add(act, 0, t)
		cols["rewards"].add(rew, 0, t)
		cols["terminals"].add(term, 0, t)
		if trunc != nil {
			cols["timeouts"].add(trunc, 0, t)
		} else {
			cols["timeouts"].add(&npz.Array{Name: p + "truncations", Shape: []int{t}, Int: make([]int64, t)}, 0, t)
		}
		// An episode must end with a flag, or the next would run on.
		if last := cols["timeouts"]; last.err == nil && !cols["terminals"].flag(-1) {
			last.setLast()
		}
		if g := get("observations/desired_goal"); g != nil {
			cols["goal_vectors"].add(g, 0, t)
		}
	}
	for _, name := range order {
		c := cols[name]
		if c.err != nil {
			return nil, c.err
		}
		if c.rows > 0 {
			rest = append(rest, c.array())
		}
	}
	return rest, nil
}

// column concatenates rows of per-episode arrays.
type column struct {
	name  string
	width int
	rows  int
	isInt bool
	f     []float64
	i     []int64
	err   error
}

func (c *column) add(a *npz.Array, from, to int) {
	if c.err != nil {
		return
	}
	if to > a.Rows() || len(a.Shape) == 0 {
		c.err = fmt.Errorf("%s: shape %v, want %d rows", a.Name, a.Shape, to)
		return
	}
	w := a.Width()
	if c.rows == 0 {
		c.width, c.isInt = w, a.Int != nil
	}
	if w != c.width || (a.Int != nil) != c.isInt {
		c.err = fmt.Errorf("%s: %d columns of %s, but earlier episodes have %d of %s", a.Name, w, a.Descr, c.width, kind(c.isInt))
		return
	}
	switch {
	case a.Int != nil:
		c.i = append(c.i, a.Int[from*w:to*w]...)
	case a.Float != nil && a.Float32 == nil:
		c.f = append(c.f, a.Float[from*w:to*w]...)
	default:
		v, err := a.Float32s()
		if err != nil {
			c.err = err
			return
		}
		for _, x := range v[from*w : to*w] {
			c.f = append(c.f, float64(x))
		}
	}
	c.rows += to - from
}

func kind(isInt bool) string {
	if isInt {
		return "integers"
	}
	return "numbers"
}

// flag reports whether row i (from the end if negative) is non-zero.
func (c *column) flag(i int) bool {
	if i < 0 {
		i += c.rows
	}
	if c.isInt {
		return c.i[i] != 0
	}
	return c.f[i] != 0
}

func (c *column) setLast() {
	if c.isInt {
		c.i[len(c.i)-1] = 1
	} else {
		c.f[len(c.f)-1] = 1
	}
}

func (c *column) array() *npz.Array {
	shape := []int{c.rows}
	if c.width != 1 {
		shape = append(shape, c.width)
	}
	if c.isInt {
		return &npz.Array{Name: c.name, Descr: "<i8", Shape: shape, Int: c.i}
	}
	return &npz.Array{Name: c.name, Descr: "<f8", Shape: shape, Float: c.f}
}

// Write writes numeric arrays to a new HDF5 file at path, gzip-compressed
// in chunks as D4RL's files are: floats as float32, integers as int64,
// booleans as uint8. A name with '/' puts the dataset in groups.
func Write(path string, arrays []*npz.Array) error {
	f, err := gh.CreateFile(path, gh.F_ACC_TRUNC)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	groups := map[string]*gh.Group{}
	defer func() {
		for _, g := range groups {
			g.Close()
		}
	}()
	for _, a := range arrays {
		parent := &f.CommonFG
		parts := strings.Split(a.Name, "/")
		for i := range parts[:len(parts)-1] {
			p := strings.Join(parts[:i+1], "/")
			g, ok := groups[p]
			if !ok {
				if g, err = parent.CreateGroup(parts[i]); err != nil {
					f.Close()
					return fmt.Errorf("%s: group %s: %w", path, p, err)
				}
				groups[p] = g
			}
			parent = &g.CommonFG
		}
		if err := writeArray(parent, parts[len(parts)-1], a); err != nil {
			f.Close()
			return fmt.Errorf("%s: %s: %w", path, a.Name, err)
		}
	}
	return f.Close()
}

func writeArray(g *gh.CommonFG, name string, a *npz.Array) error {
	dims := make([]uint, len(a.Shape))
	for i, d := range a.Shape {
		dims[i] = uint(d)
	}
	space, err := gh.CreateSimpleDataspace(dims, nil)
	if err != nil {
		return err
	}
	defer space.Close()
	var (
		dtype *gh.Datatype
		data  any
	)
	switch {
	case a.Float32 != nil || a.Float != nil:
		v, _ := a.Float32s()
		dtype, data = gh.T_NATIVE_FLOAT, &v
	case a.Int != nil:
		dtype, data = gh.T_NATIVE_INT64, &a.Int
	case a.Bool != nil:
		v := make([]uint8, len(a.Bool))
		for i, b := range a.Bool {
			if b {
				v[i] = 1
			}
		}
		dtype, data = gh.T_NATIVE_UINT8, &v
	default:
		return errors.New("only numeric arrays are written")
	}
	dcpl, err := gh.NewPropList(gh.P_DATASET_CREATE)
	if err != nil {
		return err
	}
	defer dcpl.Close()
	if a.Len() > 0 && len(dims) > 0 {
		chunk := append([]uint(nil), dims...)
		chunk[0] = min(chunk[0], 256)
		if err := dcpl.SetChunk(chunk); err != nil {
			return err
		}
		if err := dcpl.SetDeflate(4); err != nil {
			return err
		}
	}
	d, err := g.CreateDatasetWith(name, dtype, space, dcpl)
	if err != nil {
		return err
	}
	defer d.Close()
	if a.Len() == 0 {
		return nil
	}
	return d.Write(data)
}
