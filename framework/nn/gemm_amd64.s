//go:build !purego

#include "textflag.h"

// func kern6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, rows bool)
//
// The AVX2 micro-kernel: C[0:6, 0:16] = act(alpha·Σ_k op(A)[i, k]·b[k·16+j] +
// beta·C + bias) with b a packed 16-column panel; beta == 0 does not read C,
// a non-nil bias is added to every row, relu ≠ 0 applies ReLU. Without rows,
// op(A)[i, k] = a[k·lda + i] (6 consecutive values per k: A transposed, or
// a packed panel with lda 6); with rows, op(A)[i, k] = a[i·lda + k] (6 rows
// of a row-major A read in place). lda and ldc are in elements.
TEXT ·kern6x16(SB), NOSPLIT, $0-73
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R10
	SHLQ $2, R10
	LEAQ (SI)(R10*2), R11
	ADDQ R10, R11 // row 3 (rows only)
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ CX, CX
	JE    kdone
	MOVBLZX rows+72(FP), AX
	TESTL AX, AX
	JNE   kloopr

kloop:
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VBROADCASTSS 4(SI), Y3
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS 8(SI), Y2
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VBROADCASTSS 12(SI), Y3
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS 16(SI), Y2
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VBROADCASTSS 20(SI), Y3
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ         R10, SI
	ADDQ         $64, DI
	DECQ         CX
	JNE          kloop
	JMP          kdone

kloopr:
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VBROADCASTSS (SI)(R10*1), Y3
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS (SI)(R10*2), Y2
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VBROADCASTSS (R11), Y3
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS (R11)(R10*1), Y2
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VBROADCASTSS (R11)(R10*2), Y3
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ         $4, SI
	ADDQ         $4, R11
	ADDQ         $64, DI
	DECQ         CX
	JNE          kloopr

kdone:
	MOVL         alpha+48(FP), AX
	CMPL         AX, $0x3f800000 // alpha = 1: nothing to scale
	JE           knoalpha
	VBROADCASTSS alpha+48(FP), Y0
	VMULPS       Y0, Y4, Y4
	VMULPS       Y0, Y5, Y5
	VMULPS       Y0, Y6, Y6
	VMULPS       Y0, Y7, Y7
	VMULPS       Y0, Y8, Y8
	VMULPS       Y0, Y9, Y9
	VMULPS       Y0, Y10, Y10
	VMULPS       Y0, Y11, Y11
	VMULPS       Y0, Y12, Y12
	VMULPS       Y0, Y13, Y13
	VMULPS       Y0, Y14, Y14
	VMULPS       Y0, Y15, Y15

knoalpha:
	MOVL         beta+52(FP), AX
	ANDL         $0x7fffffff, AX
	JE           kstore
	VBROADCASTSS beta+52(FP), Y1
	VFMADD231PS  (DX), Y1, Y4
	VFMADD231PS  32(DX), Y1, Y5
	ADDQ         R8, DX
	VFMADD231PS  (DX), Y1, Y6
	VFMADD231PS  32(DX), Y1, Y7
	ADDQ         R8, DX
	VFMADD231PS  (DX), Y1, Y8
	VFMADD231PS  32(DX), Y1, Y9
	ADDQ         R8, DX
	VFMADD231PS  (DX), Y1, Y10
	VFMADD231PS  32(DX), Y1, Y11
	ADDQ         R8, DX
	VFMADD231PS  (DX), Y1, Y12
	VFMADD231PS  32(DX), Y1, Y13
	ADDQ         R8, DX
	VFMADD231PS  (DX), Y1, Y14
	VFMADD231PS  32(DX), Y1, Y15
	MOVQ         c+32(FP), DX

kstore:
	MOVQ    bias+56(FP), AX
	TESTQ   AX, AX
	JE      kstore_nobias
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VADDPS  Y0, Y4, Y4
	VADDPS  Y1, Y5, Y5
	VADDPS  Y0, Y6, Y6
	VADDPS  Y1, Y7, Y7
	VADDPS  Y0, Y8, Y8
	VADDPS  Y1, Y9, Y9
	VADDPS  Y0, Y10, Y10
	VADDPS  Y1, Y11, Y11
	VADDPS  Y0, Y12, Y12
	VADDPS  Y1, Y13, Y13
	VADDPS  Y0, Y14, Y14
	VADDPS  Y1, Y15, Y15

kstore_nobias:
	MOVQ    relu+64(FP), AX
	TESTQ   AX, AX
	JE      kstore_norelu
	VXORPS  Y0, Y0, Y0
	VMAXPS  Y4, Y0, Y4
	VMAXPS  Y5, Y0, Y5
	VMAXPS  Y6, Y0, Y6
	VMAXPS  Y7, Y0, Y7
	VMAXPS  Y8, Y0, Y8
	VMAXPS  Y9, Y0, Y9
	VMAXPS  Y10, Y0, Y10
	VMAXPS  Y11, Y0, Y11
	VMAXPS  Y12, Y0, Y12
	VMAXPS  Y13, Y0, Y13
	VMAXPS  Y14, Y0, Y14
	VMAXPS  Y15, Y0, Y15

kstore_norelu:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

// func packT8(dst *float32, ldd int, src *float32, lds int, blocks int)
//
// Transposes blocks consecutive 8×8 blocks of an 8-row strip (AVX):
// dst[(8b+c)·ldd + r] = src[r·lds + 8b + c] for b < blocks and r, c < 8,
// with ldd and lds in elements. It packs op(B) = Bᵀ into GEMM panels.
TEXT ·packT8(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  ldd+8(FP), DX
	SHLQ  $2, DX
	MOVQ  src+16(FP), SI
	MOVQ  lds+24(FP), R8
	SHLQ  $2, R8
	MOVQ  blocks+32(FP), CX
	LEAQ  (R8)(R8*2), R9
	LEAQ  (DX)(DX*2), R11
	TESTQ CX, CX
	JE    tdone

tloop:
	LEAQ       (SI)(R8*4), R10
	VMOVUPS    (SI), Y0
	VMOVUPS    (SI)(R8*1), Y1
	VMOVUPS    (SI)(R8*2), Y2
	VMOVUPS    (SI)(R9*1), Y3
	VMOVUPS    (R10), Y4
	VMOVUPS    (R10)(R8*1), Y5
	VMOVUPS    (R10)(R8*2), Y6
	VMOVUPS    (R10)(R9*1), Y7
	VUNPCKLPS  Y1, Y0, Y8
	VUNPCKHPS  Y1, Y0, Y9
	VUNPCKLPS  Y3, Y2, Y10
	VUNPCKHPS  Y3, Y2, Y11
	VUNPCKLPS  Y5, Y4, Y12
	VUNPCKHPS  Y5, Y4, Y13
	VUNPCKLPS  Y7, Y6, Y14
	VUNPCKHPS  Y7, Y6, Y15
	VSHUFPS    $0x44, Y10, Y8, Y0
	VSHUFPS    $0xEE, Y10, Y8, Y1
	VSHUFPS    $0x44, Y11, Y9, Y2
	VSHUFPS    $0xEE, Y11, Y9, Y3
	VSHUFPS    $0x44, Y14, Y12, Y4
	VSHUFPS    $0xEE, Y14, Y12, Y5
	VSHUFPS    $0x44, Y15, Y13, Y6
	VSHUFPS    $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	LEAQ       (DI)(DX*4), R12
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, (DI)(DX*1)
	VMOVUPS    Y10, (DI)(DX*2)
	VMOVUPS    Y11, (DI)(R11*1)
	VMOVUPS    Y12, (R12)
	VMOVUPS    Y13, (R12)(DX*1)
	VMOVUPS    Y14, (R12)(DX*2)
	VMOVUPS    Y15, (R12)(R11*1)
	ADDQ       $32, SI
	LEAQ       (R12)(DX*4), DI
	DECQ       CX
	JNE        tloop

tdone:
	VZEROUPPER
	RET

// func packN8(dst *float32, ldd int, src *float32, lds int, rows int, w8 int)
//
// Copies rows rows of w8·8 floats: dst[r·ldd + j] = src[r·lds + j] (AVX),
// with ldd and lds in elements. It packs a row-major op(B) into panels.
TEXT ·packN8(SB), NOSPLIT, $0-48
	MOVQ  dst+0(FP), DI
	MOVQ  ldd+8(FP), DX
	SHLQ  $2, DX
	MOVQ  src+16(FP), SI
	MOVQ  lds+24(FP), R8
	SHLQ  $2, R8
	MOVQ  rows+32(FP), CX
	MOVQ  w8+40(FP), R9
	TESTQ CX, CX
	JE    ndone

nrow:
	XORQ BX, BX
	MOVQ R9, R10

ncol:
	VMOVUPS (SI)(BX*1), Y0
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ    $32, BX
	DECQ    R10
	JNE     ncol
	ADDQ    R8, SI
	ADDQ    DX, DI
	DECQ    CX
	JNE     nrow

ndone:
	VZEROUPPER
	RET
