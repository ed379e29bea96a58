package npz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Array is one NumPy array: its dtype, shape and elements in C order.
// Exactly one of the element slices is set, by the dtype's kind: Float32 for
// float32, Float for the other floats, Int for 'i' and 'u', Bool for 'b',
// String for 'U' and 'S'.
type Array struct {
	Name  string
	Descr string // NumPy's dtype string as read, such as "<f4"
	Shape []int

	Float32 []float32
	Float   []float64
	Int     []int64
	Bool    []bool
	String  []string
}

// Len is the number of elements.
func (a *Array) Len() int {
	switch {
	case a.Float32 != nil:
		return len(a.Float32)
	case a.Float != nil:
		return len(a.Float)
	case a.Int != nil:
		return len(a.Int)
	case a.Bool != nil:
		return len(a.Bool)
	}
	return len(a.String)
}

// Rows is the first dimension (1 for a 0-d array).
func (a *Array) Rows() int {
	if len(a.Shape) == 0 {
		return 1
	}
	return a.Shape[0]
}

// Width is the number of elements per row: the product of all but the first
// dimension.
func (a *Array) Width() int {
	w := 1
	for _, d := range a.Shape[min(1, len(a.Shape)):] {
		w *= d
	}
	return w
}

// Float32s returns the elements as float32, refusing a value that float32
// does not hold exactly (an integer beyond 2²⁴) or a string array. A float64
// array is rounded to the nearest float32; a float32 array's own slice is
// returned, not a copy.
func (a *Array) Float32s() ([]float32, error) {
	if a.Float32 != nil {
		return a.Float32, nil
	}
	out := make([]float32, a.Len())
	switch {
	case a.Float != nil:
		for i, x := range a.Float {
			out[i] = float32(x)
		}
	case a.Int != nil:
		for i, x := range a.Int {
			if x > 1<<24 || x < -(1<<24) {
				return nil, fmt.Errorf("%s: element %d = %d is not exact as float32 (|x| ≤ 2²⁴)", a.Name, i, x)
			}
			out[i] = float32(x)
		}
	case a.Bool != nil:
		for i, x := range a.Bool {
			if x {
				out[i] = 1
			}
		}
	case a.String != nil:
		return nil, fmt.Errorf("%s: dtype %s holds strings, want numbers", a.Name, a.Descr)
	}
	return out, nil
}

// Bools returns the elements as flags: booleans, or numbers that are 0 or 1.
func (a *Array) Bools() ([]bool, error) {
	if a.Bool != nil {
		return a.Bool, nil
	}
	f, err := a.Float32s()
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(f))
	for i, x := range f {
		if x != 0 && x != 1 {
			return nil, fmt.Errorf("%s: element %d = %g, want 0 or 1", a.Name, i, x)
		}
		out[i] = x == 1
	}
	return out, nil
}

const magic = "\x93NUMPY"

// ReadNpy reads one .npy array of at most limit bytes of data.
func ReadNpy(r io.Reader, name string, limit int64) (*Array, error) {
	fail := func(format string, args ...any) (*Array, error) {
		return nil, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return fail("reading the .npy preamble: %v", err)
	}
	if string(pre[:6]) != magic {
		return fail("not a .npy array (magic %q, want %q)", pre[:6], magic)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return fail("reading the header length: %v", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return fail("reading the header length: %v", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return fail(".npy format version %d.%d, want 1.0, 2.0 or 3.0", pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return fail("header of %d bytes, want at most 1 MiB", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return fail("reading the header: %v", err)
	}
	h, err := parseHeader(string(hb))
	if err != nil {
		return fail("header %q: %v", strings.TrimSpace(string(hb)), err)
	}
	a := &Array{Name: name, Descr: h.descr, Shape: h.shape}
	kind, order, size, err := parseDescr(h.descr)
	if err != nil {
		return fail("dtype %q: %v", h.descr, err)
	}
	n := int64(1)
	for _, d := range h.shape {
		if d < 0 {
			return fail("shape %v has a negative dimension", h.shape)
		}
		if d > 0 && n > math.MaxInt64/int64(d) {
			return fail("shape %v is too large", h.shape)
		}
		n *= int64(d)
	}
	if n > 0 && int64(size) > limit/n {
		return fail("shape %v of %d-byte elements exceeds the %d bytes the file holds", h.shape, size, limit)
	}
	data := make([]byte, n*int64(size))
	if _, err := io.ReadFull(r, data); err != nil {
		return fail("reading %d elements of shape %v: %v", n, h.shape, err)
	}
	if h.fortran && len(h.shape) > 1 {
		data = transpose(data, h.shape, size)
	}
	if err := a.decode(kind, order, size, data); err != nil {
		return fail("%v", err)
	}
	return a, nil
}

// transpose turns Fortran-ordered data into C order.
func transpose(data []byte, shape []int, size int) []byte {
	out := make([]byte, len(data))
	n := len(data) / max(1, size)
	idx := make([]int, len(shape))
	for f := range n {
		// f is the Fortran-order index; idx its coordinates (first fastest).
		c := 0
		for k := range shape {
			c = c*shape[k] + idx[k]
		}
		copy(out[c*size:(c+1)*size], data[f*size:(f+1)*size])
		for k := range idx {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

func (a *Array) decode(kind byte, order binary.ByteOrder, size int, data []byte) error {
	n := len(data) / size
	switch kind {
	case 'f':
		if size == 4 {
			a.Float32 = make([]float32, n)
			for i := range n {
				a.Float32[i] = math.Float32frombits(order.Uint32(data[4*i:]))
			}
			break
		}
		a.Float = make([]float64, n)
		for i := range n {
			b := data[i*size:]
			if size == 2 {
				a.Float[i] = half(order.Uint16(b))
			} else {
				a.Float[i] = math.Float64frombits(order.Uint64(b))
			}
		}
	case 'i', 'u':
		a.Int = make([]int64, n)
		for i := range n {
			b := data[i*size:]
			var u uint64
			switch size {
			case 1:
				u = uint64(b[0])
			case 2:
				u = uint64(order.Uint16(b))
			case 4:
				u = uint64(order.Uint32(b))
			case 8:
				u = order.Uint64(b)
			}
			if kind == 'i' {
				shift := 64 - 8*size
				a.Int[i] = int64(u<<shift) >> shift
			} else {
				if u > math.MaxInt64 {
					return fmt.Errorf("element %d = %d exceeds int64", i, u)
				}
				a.Int[i] = int64(u)
			}
		}
	case 'b':
		a.Bool = make([]bool, n)
		for i, x := range data {
			if x > 1 {
				return fmt.Errorf("bool element %d is byte %d, want 0 or 1", i, x)
			}
			a.Bool[i] = x == 1
		}
	case 'U':
		a.String = make([]string, n)
		for i := range n {
			var sb strings.Builder
			for j := 0; j < size; j += 4 {
				r := rune(order.Uint32(data[i*size+j:]))
				if r == 0 {
					break
				}
				if !utf8.ValidRune(r) {
					return fmt.Errorf("string element %d holds code point %#x", i, r)
				}
				sb.WriteRune(r)
			}
			a.String[i] = sb.String()
		}
	case 'S':
		a.String = make([]string, n)
		for i := range n {
			a.String[i] = string(bytes.TrimRight(data[i*size:(i+1)*size], "\x00"))
		}
	}
	if a.String == nil && a.Float32 == nil && a.Float == nil && a.Int == nil && a.Bool == nil {
		// An empty array still says what it holds.
		switch {
		case kind == 'f' && size == 4:
			a.Float32 = []float32{}
		case kind == 'f':
			a.Float = []float64{}
		case kind == 'i' || kind == 'u':
			a.Int = []int64{}
		case kind == 'b':
			a.Bool = []bool{}
		default:
			a.String = []string{}
		}
	}
	return nil
}

// half converts an IEEE 754 binary16 value.
func half(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch e {
	case 0:
		return sign * m * math.Pow(2, -24)
	case 31:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
}

// parseDescr reads a simple dtype string such as "<f4", "|b1" or "<U12".
func parseDescr(d string) (kind byte, order binary.ByteOrder, size int, err error) {
	if len(d) < 2 {
		return 0, nil, 0, errors.New("too short")
	}
	order = binary.LittleEndian
	switch d[0] {
	case '<', '|', '=':
		d = d[1:]
	case '>':
		order = binary.BigEndian
		d = d[1:]
	}
	kind = d[0]
	size, err = strconv.Atoi(d[1:])
	if err != nil {
		return 0, nil, 0, fmt.Errorf("element size %q is not a number", d[1:])
	}
	ok := false
	switch kind {
	case 'f':
		ok = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		ok = size == 1
	case 'U':
		ok = size >= 1 && size <= 1<<16
		size *= 4
	case 'S':
		ok = size >= 1 && size <= 1<<18
	}
	if !ok {
		return 0, nil, 0, errors.New("not a supported dtype (float16/32/64, [u]int8/16/32/64, bool, unicode or byte strings)")
	}
	return kind, order, size, nil
}

type header struct {
	descr   string
	fortran bool
	shape   []int
}

// parseHeader reads the Python dict literal of a .npy header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(s string) (header, error) {
	var h header
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return h, errors.New("not a Python dict")
	}
	s = s[1 : len(s)-1]
	seen := map[string]bool{}
	for {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			break
		}
		key, rest, ok := quoted(s)
		if !ok {
			return h, fmt.Errorf("want a quoted key at %q", s)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return h, fmt.Errorf("want ':' after key %q", key)
		}
		rest = strings.TrimSpace(rest[1:])
		seen[key] = true
		switch key {
		case "descr":
			v, r, ok := quoted(rest)
			if !ok {
				return h, errors.New("descr is not a simple dtype string (structured arrays are not supported)")
			}
			h.descr, s = v, r
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "True"):
				h.fortran, s = true, rest[4:]
			case strings.HasPrefix(rest, "False"):
				h.fortran, s = false, rest[5:]
			default:
				return h, errors.New("fortran_order is not True or False")
			}
		case "shape":
			end := strings.IndexByte(rest, ')')
			if !strings.HasPrefix(rest, "(") || end < 0 {
				return h, errors.New("shape is not a tuple")
			}
			for _, f := range strings.Split(rest[1:end], ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
				if err != nil || d < 0 {
					return h, fmt.Errorf("shape dimension %q is not a count", f)
				}
				h.shape = append(h.shape, d)
			}
			s = rest[end+1:]
		default:
			return h, fmt.Errorf("unknown key %q", key)
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("no %q", k)
		}
	}
	if len(h.shape) > 8 {
		return h, fmt.Errorf("%d dimensions, want at most 8", len(h.shape))
	}
	return h, nil
}

// quoted reads a '…' or "…" string at the start of s.
func quoted(s string) (v, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

// WriteNpy writes a as a .npy array: floats as <f4, integers as <i8,
// booleans as |b1 and strings as <U of the longest string's length.
func WriteNpy(w io.Writer, a *Array) error {
	var descr string
	var body []byte
	switch {
	case a.Float32 != nil:
		descr = "<f4"
		body = make([]byte, 0, 4*len(a.Float32))
		for _, x := range a.Float32 {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(x))
		}
	case a.Float != nil:
		descr = "<f4"
		body = make([]byte, 0, 4*len(a.Float))
		for _, x := range a.Float {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(float32(x)))
		}
	case a.Int != nil:
		descr = "<i8"
		for _, x := range a.Int {
			body = binary.LittleEndian.AppendUint64(body, uint64(x))
		}
	case a.Bool != nil:
		descr = "|b1"
		for _, x := range a.Bool {
			b := byte(0)
			if x {
				b = 1
			}
			body = append(body, b)
		}
	default:
		width := 1
		for _, s := range a.String {
			width = max(width, utf8.RuneCountInString(s))
		}
		descr = "<U" + strconv.Itoa(width)
		for _, s := range a.String {
			k := 0
			for _, r := range s {
				body = binary.LittleEndian.AppendUint32(body, uint32(r))
				k++
			}
			body = append(body, make([]byte, 4*(width-k))...)
		}
	}
	var shape strings.Builder
	shape.WriteByte('(')
	for i, d := range a.Shape {
		if i > 0 {
			shape.WriteString(", ")
		}
		shape.WriteString(strconv.Itoa(d))
	}
	if len(a.Shape) == 1 {
		shape.WriteByte(',')
	}
	shape.WriteByte(')')
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape.String())
	// Pad with spaces and a newline so the data starts on a 64-byte boundary.
	version, pre := byte(1), 10
	if len(h)+1+pre > 65535 {
		version, pre = 2, 12
	}
	h += strings.Repeat(" ", (64-(pre+len(h)+1)%64)%64) + "\n"
	out := []byte(magic)
	out = append(out, version, 0)
	if version == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(h)))
	}
	out = append(out, h...)
	if _, err := w.Write(out); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}
