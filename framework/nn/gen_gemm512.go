//go:build ignore

// gen_gemm512 writes gemm512_amd64.s, the AVX-512 micro-kernels of the
// packed SGEMM: run `go generate ./framework/nn`.
//
// The tile is 12×32: 24 zmm accumulators, so that every 32-wide row of the
// packed panel of op(B) (128 bytes per k, read from L1) feeds 24 FMAs. The
// two kernels differ only in how they address the 12-row block of op(A):
// kern12x32 reads 12 consecutive values per k, lda apart (A transposed, or a
// packed panel with lda 12); kern12x32r reads 12 rows of a row-major A in
// place, one pointer register per row. Each value of A is broadcast from
// memory inside the FMA (EVEX embedded broadcast) with base+displacement
// addressing, so that the load stays fused with the FMA (an index register
// would unlaminate it), and k is unrolled four times. Each element of C
// accumulates its products in k order, one FMA at a time, so the results are
// bit-identical to any other tile shape or unrolling.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
)

const (
	mr     = 12 // rows of the tile
	unroll = 4  // k steps per loop iteration
)

// acc returns the accumulator register of row r, column half h.
func acc(r, h int) string { return fmt.Sprintf("Z%d", 4+2*r+h) }

type gen struct{ bytes.Buffer }

func (g *gen) op(format string, args ...any) { fmt.Fprintf(&g.Buffer, "\t"+format+"\n", args...) }
func (g *gen) label(l string)                { fmt.Fprintf(&g.Buffer, "\n%s:\n", l) }

// kernel writes one kernel. rows selects the addressing of A: false for mr
// values per k, lda apart (pointers P_u = a + u·lda for the unrolled steps
// u, value r at displacement 4·r), true for mr rows (pointers P_r = a +
// r·lda, step u at displacement 4·u). Every general register but SP and BP
// is used: R14 and R15 are free in ABI0 assembly (its ABI wrappers restore
// g), CX counts iterations and DI walks the panel of op(B).
func (g *gen) kernel(name string, rows bool) {
	suffix := strings.TrimPrefix(name, fmt.Sprintf("kern%dx32", mr))
	l := func(s string) string { return "z" + s + suffix }
	fmt.Fprintf(&g.Buffer, "\n// func %s(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, mask *float32)\n", name)
	g.WriteString("TEXT ·" + name + "(SB), NOSPLIT, $0-80\n")
	g.op("MOVQ a+8(FP), SI")
	g.op("MOVQ lda+16(FP), R8")
	g.op("SHLQ $2, R8")
	g.op("MOVQ b+24(FP), DI")
	var ptrs []string
	if rows {
		// The last pointer overwrites lda (R8), which it is computed from.
		ptrs = []string{"SI", "AX", "BX", "DX", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "R8"}[:mr]
	} else {
		ptrs = []string{"SI", "AX", "BX", "DX"}[:unroll]
		g.op("MOVQ R8, R9")
		g.op("SHLQ $2, R9") // 4·lda bytes: one unrolled iteration
	}
	for i := 1; i < len(ptrs); i++ {
		g.op("LEAQ (%s)(R8*1), %s", ptrs[i-1], ptrs[i])
	}
	for r := range mr {
		for h := range 2 {
			g.op("VPXORD %s, %s, %s", acc(r, h), acc(r, h), acc(r, h))
		}
	}
	// step writes the FMAs of unrolled step u (B at 128·u bytes from DI).
	step := func(u int, ptrs []string) {
		g.op("VMOVUPS %d(DI), Z0", 128*u)
		g.op("VMOVUPS %d(DI), Z1", 128*u+64)
		for r := range mr {
			var mem string
			if rows {
				mem = fmt.Sprintf("%d(%s)", 4*u, ptrs[r])
			} else {
				mem = fmt.Sprintf("%d(%s)", 4*r, ptrs[u])
			}
			g.op("VFMADD231PS.BCST %s, Z0, %s", mem, acc(r, 0))
			g.op("VFMADD231PS.BCST %s, Z1, %s", mem, acc(r, 1))
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
	g.epilogue(l)
}

// epilogue writes C = mask(act(alpha·acc + beta·C + bias)).
func (g *gen) epilogue(l func(string) string) {
	g.op("MOVQ c+32(FP), DX")
	g.op("MOVQ ldc+40(FP), R8")
	g.op("SHLQ $2, R8")
	g.op("VBROADCASTSS alpha+48(FP), Z0")
	for r := range mr {
		for h := range 2 {
			g.op("VMULPS Z0, %s, %s", acc(r, h), acc(r, h))
		}
	}
	g.op("MOVL beta+52(FP), AX")
	g.op("ANDL $0x7fffffff, AX")
	g.op("JE %s", l("nobeta"))
	g.op("VBROADCASTSS beta+52(FP), Z1")
	g.op("MOVQ DX, AX")
	for r := range mr {
		if r > 0 {
			g.op("ADDQ R8, AX")
		}
		g.op("VFMADD231PS (AX), Z1, %s", acc(r, 0))
		g.op("VFMADD231PS 64(AX), Z1, %s", acc(r, 1))
	}
	g.label(l("nobeta"))
	g.op("MOVQ bias+56(FP), AX")
	g.op("TESTQ AX, AX")
	g.op("JE %s", l("nobias"))
	g.op("VMOVUPS (AX), Z0")
	g.op("VMOVUPS 64(AX), Z1")
	for r := range mr {
		g.op("VADDPS Z0, %s, %s", acc(r, 0), acc(r, 0))
		g.op("VADDPS Z1, %s, %s", acc(r, 1), acc(r, 1))
	}
	g.label(l("nobias"))
	g.op("MOVQ relu+64(FP), AX")
	g.op("TESTQ AX, AX")
	g.op("JE %s", l("norelu"))
	g.op("VPXORD Z0, Z0, Z0")
	for r := range mr {
		for h := range 2 {
			g.op("VMAXPS %s, Z0, %s", acc(r, h), acc(r, h))
		}
	}
	g.label(l("norelu"))
	g.op("MOVQ mask+72(FP), AX")
	g.op("TESTQ AX, AX")
	g.op("JE %s", l("nomask"))
	g.op("VPXORD Z0, Z0, Z0")
	for r := range mr {
		if r > 0 {
			g.op("ADDQ R8, AX")
		}
		g.op("VCMPPS $1, (AX), Z0, K1")
		g.op("VCMPPS $1, 64(AX), Z0, K2")
		g.op("VMOVAPS.Z %s, K1, %s", acc(r, 0), acc(r, 0))
		g.op("VMOVAPS.Z %s, K2, %s", acc(r, 1), acc(r, 1))
	}
	g.label(l("nomask"))
	for r := range mr {
		if r > 0 {
			g.op("ADDQ R8, DX")
		}
		g.op("VMOVUPS %s, (DX)", acc(r, 0))
		g.op("VMOVUPS %s, 64(DX)", acc(r, 1))
	}
	g.op("VZEROUPPER")
	g.op("RET")
}

func main() {
	out := flag.String("o", "gemm512_amd64.s", "output file")
	flag.Parse()
	var g gen
	g.WriteString(`// Code generated by gen_gemm512.go; DO NOT EDIT.

//go:build !purego

#include "textflag.h"

// C[0:12, 0:32] = mask(act(alpha·Σ_k op(A)[i, k]·b[k·32+j] + beta·C + bias)):
// b is a packed 32-column panel of op(B); beta == 0 does not read C; a
// non-nil bias (32 values) is added to every row; relu ≠ 0 applies ReLU; a
// non-nil mask (laid out as C, ldc apart) zeroes every result whose mask
// value is not > 0, the ReLU derivative of the layer below. lda and ldc are
// in elements.
//
// kern12x32: op(A)[i, k] = a[k·lda + i] (A transposed, or a packed panel
// with lda 12). kern12x32r: op(A)[i, k] = a[i·lda + k] (12 rows of a
// row-major A).
`)
	g.kernel(fmt.Sprintf("kern%dx32", mr), false)
	g.kernel(fmt.Sprintf("kern%dx32r", mr), true)
	if err := os.WriteFile(*out, g.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
