//go:build ignore

// gen_gemm512 writes the AVX-512 micro-kernels of the packed SGEMM,
// gemm512_amd64.s, and their Go declarations and dispatch,
// gemm512_amd64.go: run `go generate ./framework/nn`.
//
// A kernel computes one tile of up to 12 rows × 32 columns of C from a
// packed panel of op(B) (32 columns, 128 bytes per k, read from L1). The
// full tile holds 24 zmm accumulators, so that every row of the panel feeds
// 24 FMAs. There is one kernel for every row count mr = 1…12 and width
// 16 or 32 (the 16-wide ones read the panel's first 16 columns, for a last
// panel of ≤ 16 columns), in two addressings of op(A): zmmMxN reads mr
// consecutive values per k, lda apart (A transposed); zmmMxNr reads mr rows
// of a row-major A in place, one pointer register per row. So no tile is
// padded: the last rows get their own kernel, and the last columns are
// written (and C, bias and mask read) under an opmask of `cols` bits.
//
// Each value of A is broadcast from memory inside the FMA (EVEX embedded
// broadcast) with base+displacement addressing, so that the load stays fused
// with the FMA (an index register would unlaminate it), and k is unrolled
// four times. Each element of C accumulates its products in k order, one
// FMA at a time, so the results are bit-identical to any other tile shape
// or unrolling.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
)

const (
	maxMR  = 12 // rows of the largest tile
	unroll = 4  // k steps per loop iteration
)

// acc returns the accumulator register of row r, column half h.
func acc(r, h int) string { return fmt.Sprintf("Z%d", 4+2*r+h) }

type gen struct{ bytes.Buffer }

// tile calls f for every accumulator of an mr-row tile of halves 16-column
// halves, row by row; a non-empty ptr, a pointer into C (or the mask), is
// moved down one row (R8 bytes) between rows.
func (g *gen) tile(mr, halves int, ptr string, f func(r, h int)) {
	for r := range mr {
		if r > 0 && ptr != "" {
			g.op("ADDQ R8, %s", ptr)
		}
		for h := range halves {
			f(r, h)
		}
	}
}

// unlessZero loads the argument arg into AX and jumps to label when it is
// zero (a nil pointer, relu off): the epilogue steps that may be skipped.
func (g *gen) unlessZero(arg, label string) {
	g.op("MOVQ %s, AX", arg)
	g.op("TESTQ AX, AX")
	g.op("JE %s", label)
}

func (g *gen) op(format string, args ...any) { fmt.Fprintf(&g.Buffer, "\t"+format+"\n", args...) }
func (g *gen) label(l string)                { fmt.Fprintf(&g.Buffer, "\n%s:\n", l) }

func name(mr, nr int, rows bool) string {
	s := fmt.Sprintf("zmm%dx%d", mr, nr)
	if rows {
		s += "r"
	}
	return s
}

const signature = "(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, mask *float32, cols int)"

// kernel writes one kernel of mr rows and nr (16 or 32) columns. rows
// selects the addressing of A: false for mr values per k, lda apart
// (pointers P_u = a + u·lda for the unrolled steps u, value r at
// displacement 4·r), true for mr rows (pointers P_r = a + r·lda, step u at
// displacement 4·u). Up to every general register but SP and BP is used:
// R14 and R15 are free in ABI0 assembly (its ABI wrappers restore g), CX
// counts iterations and DI walks the panel of op(B).
func (g *gen) kernel(mr, nr int, rows bool) {
	fn := name(mr, nr, rows)
	halves := nr / 16
	l := func(s string) string { return fmt.Sprintf("%s_%s", fn, s) }
	fmt.Fprintf(&g.Buffer, "\n// func %s%s\n", fn, signature)
	g.WriteString("TEXT ·" + fn + "(SB), NOSPLIT, $0-88\n")
	g.op("MOVQ a+8(FP), SI")
	g.op("MOVQ lda+16(FP), R8")
	g.op("SHLQ $2, R8")
	g.op("MOVQ b+24(FP), DI")
	var ptrs []string
	if rows {
		// The last of 12 pointers overwrites lda (R8), which it is computed from.
		ptrs = []string{"SI", "AX", "BX", "DX", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "R8"}[:mr]
	} else {
		ptrs = []string{"SI", "AX", "BX", "DX"}[:unroll]
		g.op("MOVQ R8, R9")
		g.op("SHLQ $2, R9") // 4·lda bytes: one unrolled iteration
	}
	for i := 1; i < len(ptrs); i++ {
		g.op("LEAQ (%s)(R8*1), %s", ptrs[i-1], ptrs[i])
	}
	g.tile(mr, halves, "", func(r, h int) { g.op("VPXORD %s, %s, %s", acc(r, h), acc(r, h), acc(r, h)) })
	// step writes the FMAs of unrolled step u (B at 128·u bytes from DI).
	step := func(u int, ptrs []string) {
		for h := range halves {
			g.op("VMOVUPS %d(DI), Z%d", 128*u+64*h, h)
		}
		for r := range mr {
			var mem string
			if rows {
				mem = fmt.Sprintf("%d(%s)", 4*u, ptrs[r])
			} else {
				mem = fmt.Sprintf("%d(%s)", 4*r, ptrs[u])
			}
			for h := range halves {
				g.op("VFMADD231PS.BCST %s, Z%d, %s", mem, h, acc(r, h))
			}
		}
	}
	g.op("MOVQ k+0(FP), CX")
	g.op("SHRQ $2, CX")
	g.op("JE %s", l("tail"))
	g.label(l("loop4"))
	for u := range unroll {
		step(u, ptrs)
	}
	for _, p := range ptrs {
		if rows {
			g.op("ADDQ $%d, %s", 4*unroll, p)
		} else {
			g.op("ADDQ R9, %s", p)
		}
	}
	g.op("ADDQ $%d, DI", 128*unroll)
	g.op("DECQ CX")
	g.op("JNE %s", l("loop4"))
	g.label(l("tail"))
	g.op("MOVQ k+0(FP), CX")
	g.op("ANDQ $%d, CX", unroll-1)
	g.op("JE %s", l("done"))
	if !rows {
		ptrs = ptrs[:1] // one k per iteration, through P_0, lda (R8) apart
	}
	g.label(l("loop1"))
	step(0, ptrs)
	for _, p := range ptrs {
		if rows {
			g.op("ADDQ $4, %s", p)
		} else {
			g.op("ADDQ R8, %s", p)
		}
	}
	g.op("ADDQ $128, DI")
	g.op("DECQ CX")
	g.op("JNE %s", l("loop1"))
	g.label(l("done"))
	g.epilogue(mr, halves, l)
}

// epilogue writes C = mask(act(alpha·acc + beta·C + bias)) for the first
// cols columns: K3 and K4 hold the column masks of the two halves, and
// every load and store of C, bias and mask goes through them.
func (g *gen) epilogue(mr, halves int, l func(string) string) {
	km := []string{"K3", "K4"}
	g.op("MOVQ cols+80(FP), CX")
	g.op("MOVQ $1, AX")
	g.op("SHLQ CX, AX")
	g.op("DECQ AX")
	g.op("KMOVW AX, K3")
	if halves == 2 {
		g.op("SHRQ $16, AX")
		g.op("KMOVW AX, K4")
	}
	g.op("MOVQ c+32(FP), DX")
	g.op("MOVQ ldc+40(FP), R8")
	g.op("SHLQ $2, R8")
	g.op("MOVL alpha+48(FP), AX")
	g.op("CMPL AX, $0x3f800000") // alpha = 1: nothing to scale
	g.op("JE %s", l("noalpha"))
	g.op("VBROADCASTSS alpha+48(FP), Z0")
	g.tile(mr, halves, "", func(r, h int) { g.op("VMULPS Z0, %s, %s", acc(r, h), acc(r, h)) })
	g.label(l("noalpha"))
	g.op("MOVL beta+52(FP), AX")
	g.op("ANDL $0x7fffffff, AX")
	g.op("JE %s", l("nobeta"))
	g.op("VBROADCASTSS beta+52(FP), Z1")
	g.op("MOVQ DX, AX")
	g.tile(mr, halves, "AX", func(r, h int) {
		g.op("VMOVUPS.Z %d(AX), %s, Z2", 64*h, km[h])
		g.op("VFMADD231PS Z2, Z1, %s", acc(r, h))
	})
	g.label(l("nobeta"))
	g.unlessZero("bias+56(FP)", l("nobias"))
	for h := range halves {
		g.op("VMOVUPS.Z %d(AX), %s, Z%d", 64*h, km[h], h)
	}
	g.tile(mr, halves, "", func(r, h int) { g.op("VADDPS Z%d, %s, %s", h, acc(r, h), acc(r, h)) })
	g.label(l("nobias"))
	g.unlessZero("relu+64(FP)", l("norelu"))
	g.op("VPXORD Z0, Z0, Z0")
	g.tile(mr, halves, "", func(r, h int) { g.op("VMAXPS %s, Z0, %s", acc(r, h), acc(r, h)) })
	g.label(l("norelu"))
	g.unlessZero("mask+72(FP)", l("nomask"))
	g.op("VPXORD Z0, Z0, Z0")
	g.tile(mr, halves, "AX", func(r, h int) {
		// K1 = column mask ∧ 0 < mask value.
		g.op("VCMPPS $1, %d(AX), Z0, %s, K1", 64*h, km[h])
		g.op("VMOVAPS.Z %s, K1, %s", acc(r, h), acc(r, h))
	})
	g.label(l("nomask"))
	g.tile(mr, halves, "DX", func(r, h int) { g.op("VMOVUPS %s, %s, %d(DX)", acc(r, h), km[h], 64*h) })
	g.op("VZEROUPPER")
	g.op("RET")
}

// dispatch writes the Go declarations and kern512, which picks a kernel by
// tile shape.
func dispatch() []byte {
	var b bytes.Buffer
	b.WriteString(`// Code generated by gen_gemm512.go; DO NOT EDIT.

//go:build !purego

package nn
`)
	for _, rows := range []bool{false, true} {
		for _, nr := range []int{16, 32} {
			for mr := 1; mr <= maxMR; mr++ {
				fmt.Fprintf(&b, "\n//go:noescape\nfunc %s%s\n", name(mr, nr, rows), signature)
			}
		}
	}
	b.WriteString(`
// kern512 computes the mr×cols tile of C (mr ≤ 12, cols ≤ 32) at c:
// C = mask(act(alpha·op(A)·b + beta·C + bias)) over k, with b a packed
// panel of 32 columns of op(B); see gemm512_amd64.s. rows selects a
// row-major A (mr rows, lda apart) over a transposed one (mr consecutive
// values per k, lda apart).
func kern512(rows bool, mr, cols, k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, mask *float32) {
	i := mr * 4
	if cols > 16 {
		i += 2
	}
	if rows {
		i++
	}
	switch i {
`)
	for mr := 1; mr <= maxMR; mr++ {
		for _, nr := range []int{16, 32} {
			for _, rows := range []bool{false, true} {
				i := mr * 4
				if nr == 32 {
					i += 2
				}
				if rows {
					i++
				}
				fmt.Fprintf(&b, "\tcase %d:\n\t\t%s(k, a, lda, b, c, ldc, alpha, beta, bias, relu, mask, cols)\n", i, name(mr, nr, rows))
			}
		}
	}
	b.WriteString("\tdefault:\n\t\tpanic(\"nn: kern512 tile out of range\")\n\t}\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	return src
}

func main() {
	dir := flag.String("d", ".", "output directory")
	flag.Parse()
	var g gen
	g.WriteString(`// Code generated by gen_gemm512.go; DO NOT EDIT.

//go:build !purego

#include "textflag.h"

// zmmMxN computes C[0:M, 0:cols] = mask(act(alpha·Σ_k op(A)[i, k]·b[k·32+j] +
// beta·C + bias)) for cols ≤ N: b is a packed panel of 32 columns of op(B);
// beta == 0 does not read C; a non-nil bias is added to every row; relu ≠ 0
// applies ReLU; a non-nil mask (laid out as C, ldc apart) zeroes every result
// whose mask value is not > 0, the ReLU derivative of the layer below. lda and
// ldc are in elements. zmmMxN: op(A)[i, k] = a[k·lda + i] (A transposed);
// zmmMxNr: op(A)[i, k] = a[i·lda + k] (M rows of a row-major A).
`)
	for _, rows := range []bool{false, true} {
		for _, nr := range []int{16, 32} {
			for mr := 1; mr <= maxMR; mr++ {
				g.kernel(mr, nr, rows)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(*dir, "gemm512_amd64.s"), g.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "gemm512_amd64.go"), dispatch(), 0o644); err != nil {
		log.Fatal(err)
	}
}
