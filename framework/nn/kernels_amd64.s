//go:build !purego

#include "textflag.h"

// func adamAVX2(w, gr, m, v *float32, n int, k *adamConsts)
// n is a multiple of 8.
//
// Denormals are flushed to zero while it runs (MXCSR FTZ|DAZ, restored on
// return): squared tiny gradients underflow into denormals, and every vector
// operation producing or reading one takes a microcode assist; this made
// Adam 20x slower on bc_discrete's real gradients (715 µs instead of 37 µs
// per step). The numeric effect is limited to values below 1.2e-38.
TEXT ·adamAVX2(SB), NOSPLIT, $8-48
	STMXCSR mxcsr-8(SP)
	MOVL    mxcsr-8(SP), R11
	MOVL    R11, AX
	ORL     $0x8040, AX
	MOVL    AX, mxcsr-8(SP)
	LDMXCSR mxcsr-8(SP)
	MOVQ w+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // b1
	VBROADCASTSS 4(AX), Y9   // 1-b1
	VBROADCASTSS 8(AX), Y10  // b2
	VBROADCASTSS 12(AX), Y11 // 1-b2
	VBROADCASTSS 16(AX), Y12 // step
	VBROADCASTSS 20(AX), Y13 // 1/sqrt(bc2)
	VBROADCASTSS 24(AX), Y14 // eps
	XORQ BX, BX
adamloop:
	CMPQ BX, CX
	JGE adamdone
	VMOVUPS (SI)(BX*4), Y0     // g
	VMULPS (R8)(BX*4), Y8, Y1  // m*b1
	VFMADD231PS Y0, Y9, Y1     // + (1-b1)*g
	VMOVUPS Y1, (R8)(BX*4)
	VMULPS Y0, Y0, Y2          // g*g
	VMULPS Y11, Y2, Y2         // *(1-b2)
	VFMADD231PS (R9)(BX*4), Y10, Y2 // + b2*v
	VMOVUPS Y2, (R9)(BX*4)
	VSQRTPS Y2, Y3
	VMULPS Y13, Y3, Y3
	VADDPS Y14, Y3, Y3         // denom
	VMULPS Y12, Y1, Y4         // step*m
	VDIVPS Y3, Y4, Y4          // step*m/denom
	VMOVUPS (DI)(BX*4), Y5
	VSUBPS Y4, Y5, Y5
	VMOVUPS Y5, (DI)(BX*4)
	ADDQ $8, BX
	JMP adamloop
adamdone:
	MOVL    R11, mxcsr-8(SP)
	LDMXCSR mxcsr-8(SP)
	VZEROUPPER
	RET

// func reluAVX2(y *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ y+0(FP), DI
	MOVQ n+8(FP), CX
	VXORPS Y7, Y7, Y7
	XORQ BX, BX
reluloop:
	CMPQ BX, CX
	JGE reludone
	VMAXPS (DI)(BX*4), Y7, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ $8, BX
	JMP reluloop
reludone:
	VZEROUPPER
	RET

// func reluBackAVX2(dy, y *float32, n int): dy = y > 0 ? dy : 0
TEXT ·reluBackAVX2(SB), NOSPLIT, $0-24
	MOVQ dy+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y7, Y7, Y7
	XORQ BX, BX
rbloop:
	CMPQ BX, CX
	JGE rbdone
	VMOVUPS (SI)(BX*4), Y0
	VCMPPS $0x0e, Y7, Y0, Y1 // y > 0 (GT_OS)
	VANDPS (DI)(BX*4), Y1, Y2
	VMOVUPS Y2, (DI)(BX*4)
	ADDQ $8, BX
	JMP rbloop
rbdone:
	VZEROUPPER
	RET

// func addToAVX2(dst, src *float32, n int): dst += src
TEXT ·addToAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ BX, BX
addloop:
	CMPQ BX, CX
	JGE adddone
	VMOVUPS (DI)(BX*4), Y0
	VADDPS (SI)(BX*4), Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ $8, BX
	JMP addloop
adddone:
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32; n is a multiple of 32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ BX, BX
dotloop:
	CMPQ BX, CX
	JGE dotdone
	VMOVUPS (DI)(BX*4), Y4
	VMOVUPS 32(DI)(BX*4), Y5
	VMOVUPS 64(DI)(BX*4), Y6
	VMOVUPS 96(DI)(BX*4), Y7
	VFMADD231PS (SI)(BX*4), Y4, Y0
	VFMADD231PS 32(SI)(BX*4), Y5, Y1
	VFMADD231PS 64(SI)(BX*4), Y6, Y2
	VFMADD231PS 96(SI)(BX*4), Y7, Y3
	ADDQ $32, BX
	JMP dotloop
dotdone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(a float32, x, y *float32, n int): y += a·x; n multiple of 8
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	XORQ BX, BX
axloop:
	CMPQ BX, CX
	JGE axdone
	VMOVUPS (DI)(BX*4), Y1
	VFMADD231PS (SI)(BX*4), Y0, Y1
	VMOVUPS Y1, (DI)(BX*4)
	ADDQ $8, BX
	JMP axloop
axdone:
	VZEROUPPER
	RET

DATA expc<>+0(SB)/4, $0x42b170a4  // 88.72: above, e^x overflows
DATA expc<>+4(SB)/4, $0xc2aea8f6  // -87.33: below, e^x is 0
DATA expc<>+8(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expc<>+12(SB)/4, $0x3f000000 // 0.5
DATA expc<>+16(SB)/4, $0x3f318000 // ln 2, high part
DATA expc<>+20(SB)/4, $0xb95e8083 // ln 2, low part (negated sign folded in)
DATA expc<>+24(SB)/4, $0x39506967 // Cephes expf polynomial, highest degree first
DATA expc<>+28(SB)/4, $0x3ab743ce
DATA expc<>+32(SB)/4, $0x3c088908
DATA expc<>+36(SB)/4, $0x3d2aa9c1
DATA expc<>+40(SB)/4, $0x3e2aaaaa
DATA expc<>+44(SB)/4, $0x3f000000
DATA expc<>+48(SB)/4, $0x3f800000 // 1
DATA expc<>+52(SB)/4, $127
DATA expc<>+56(SB)/4, $0x7f800000 // +Inf (exp32AVX2 above 88.72)
GLOBL expc<>(SB), RODATA|NOPTR, $60

// HORNER is one step of Horner's rule as the scalar Go code rounds it,
// without fusing: acc = (acc + c)·x, with c the address of a constant.
// It clobbers Y1.
#define HORNER(c, x, acc) \
	VBROADCASTSS c, Y1; \
	VADDPS       Y1, acc, acc; \
	VMULPS       x, acc, acc

// FHORNER is the same step with one fused multiply-add, for the kernels
// that stay within an ulp of the scalar code: acc = acc·x + c. It clobbers
// Y11.
#define FHORNER(c, x, acc) \
	VBROADCASTSS c, Y11; \
	VFMADD213PS  Y11, x, acc

// POW2 multiplies p by 2^z for integral z in the exponent's range, from
// z's bits: bias holds 127 in every lane. It clobbers z.
#define POW2(z, bias, p) \
	VCVTTPS2DQ z, z; \
	VPADDD     bias, z, z; \
	VPSLLD     $23, z, z; \
	VMULPS     z, p, p

// EXP8 sets Y2 = e^Y0 for 8 lanes by exp32's method: the argument clamped
// to [−87.33, 88.72] (NaN propagates), reduced by ln 2 in two parts, the
// Cephes polynomial and the power of two from the exponent bits, with fused
// multiply-adds. It needs expc's constants in Y3–Y10 (see expSumAVX2) and
// clobbers Y0, Y1, Y11 and Y12.
#define EXP8 \
	VMINPS       Y0, Y3, Y0; \
	VMAXPS       Y0, Y4, Y0; \
	VMOVAPS      Y6, Y1; \
	VFMADD231PS  Y5, Y0, Y1; \
	VROUNDPS     $1, Y1, Y1; \
	VFNMADD231PS Y7, Y1, Y0; \
	VFNMADD231PS Y8, Y1, Y0; \
	VBROADCASTSS expc<>+24(SB), Y2; \
	FHORNER(expc<>+28(SB), Y0, Y2); \
	FHORNER(expc<>+32(SB), Y0, Y2); \
	FHORNER(expc<>+36(SB), Y0, Y2); \
	FHORNER(expc<>+40(SB), Y0, Y2); \
	FHORNER(expc<>+44(SB), Y0, Y2); \
	VMULPS       Y0, Y0, Y12; \
	VMULPS       Y12, Y2, Y2; \
	VADDPS       Y0, Y2, Y2; \
	VADDPS       Y9, Y2, Y2; \
	POW2(Y1, Y10, Y2)

// func expSumAVX2(dst, src *float32, n int, shift float32) float32
//
// dst[i] = e^(src[i] − shift) for n (a multiple of 8) elements, by exp32's
// Cephes polynomial, and returns their sum. NaN propagates; results above
// e^88.72 saturate instead of becoming +Inf.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y15
	VBROADCASTSS expc<>+0(SB), Y3
	VBROADCASTSS expc<>+4(SB), Y4
	VBROADCASTSS expc<>+8(SB), Y5
	VBROADCASTSS expc<>+12(SB), Y6
	VBROADCASTSS expc<>+16(SB), Y7
	VBROADCASTSS expc<>+20(SB), Y8
	VBROADCASTSS expc<>+48(SB), Y9
	VPBROADCASTD expc<>+52(SB), Y10
	VXORPS       Y14, Y14, Y14
	XORQ         BX, BX

exploop:
	CMPQ         BX, CX
	JGE          expdone
	VMOVUPS      (SI)(BX*4), Y0
	VSUBPS       Y15, Y0, Y0
	VCMPPS       $5, Y4, Y0, Y13
	EXP8
	VANDPS       Y13, Y2, Y2
	VMOVUPS      Y2, (DI)(BX*4)
	VADDPS       Y2, Y14, Y14
	ADDQ         $8, BX
	JMP          exploop

expdone:
	VEXTRACTF128 $1, Y14, X1
	VADDPS       X1, X14, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, ret+32(FP)
	VZEROUPPER
	RET

// func polyakAVX2(dst, src *float32, n int, tau float32): dst = (1−τ)·dst + τ·src
// for n (a multiple of 8) elements, rounded as the Go loop: one product each,
// then their sum.
TEXT ·polyakAVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS tau+24(FP), Y0
	VBROADCASTSS expc<>+48(SB), Y1
	VSUBPS       Y0, Y1, Y1
	XORQ         BX, BX

polyloop:
	CMPQ    BX, CX
	JGE     polydone
	VMULPS  (DI)(BX*4), Y1, Y2
	VMULPS  (SI)(BX*4), Y0, Y3
	VADDPS  Y3, Y2, Y2
	VMOVUPS Y2, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     polyloop

polydone:
	VZEROUPPER
	RET

// func sumRowsAVX2(dst, src *float32, rows, ld, chunks int)
//
// dst[j] += src[r·ld + j] for r < rows and j < 64·chunks, adding rows in
// order (so it rounds as a row-by-row loop), 64 columns at a time in
// registers. ld is in elements.
TEXT ·sumRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ chunks+32(FP), R9

sumchunk:
	TESTQ   R9, R9
	JE      sumdone
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y4
	VMOVUPS 160(DI), Y5
	VMOVUPS 192(DI), Y6
	VMOVUPS 224(DI), Y7
	MOVQ    rows+16(FP), CX
	MOVQ    SI, DX
	TESTQ   CX, CX
	JE      sumstore

sumrow:
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VADDPS 64(DX), Y2, Y2
	VADDPS 96(DX), Y3, Y3
	VADDPS 128(DX), Y4, Y4
	VADDPS 160(DX), Y5, Y5
	VADDPS 192(DX), Y6, Y6
	VADDPS 224(DX), Y7, Y7
	ADDQ   R8, DX
	DECQ   CX
	JNE    sumrow

sumstore:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ    $256, DI
	ADDQ    $256, SI
	DECQ    R9
	JMP     sumchunk

sumdone:
	VZEROUPPER
	RET

// func scaleMaskAVX2(dst, x *float32, n int, s float32, mask *float32)
//
// dst = mask > 0 ? s·x : 0 (mask may be nil: dst = s·x); n multiple of 8.
// A K = 1 product row by row: the input gradient of a value head.
TEXT ·scaleMaskAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y0
	MOVQ         mask+32(FP), DX
	VXORPS       Y7, Y7, Y7
	XORQ         BX, BX
	TESTQ        DX, DX
	JE           smplain

smloop:
	CMPQ    BX, CX
	JGE     smdone
	VMOVUPS (DX)(BX*4), Y1
	VCMPPS  $0x0e, Y7, Y1, Y1 // mask > 0 (GT_OS)
	VMULPS  (SI)(BX*4), Y0, Y2
	VANDPS  Y2, Y1, Y2
	VMOVUPS Y2, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     smloop

smplain:
	CMPQ    BX, CX
	JGE     smdone
	VMULPS  (SI)(BX*4), Y0, Y2
	VMOVUPS Y2, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     smplain

smdone:
	VZEROUPPER
	RET

// func gemvTAVX2(c, a *float32, lda int, b *float32, ldb, k, n int, alpha float32)
//
// c[j] += (alpha·a[r·lda])·b[r·ldb + j] by FMA for r = 0, 1, …, k−1 in
// order and j < n (a multiple of 8): the m = 1 product αᵀ·B of a value
// head's weight gradient, or decoding attention's probabilities times the
// cached values, with c held in registers 64 (then 32, then 8) columns at a
// time.
// Strides are in elements.
TEXT ·gemvTAVX2(SB), NOSPLIT, $0-60
	MOVQ         c+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         lda+16(FP), R8
	SHLQ         $2, R8
	MOVQ         b+24(FP), DX
	MOVQ         ldb+32(FP), R9
	SHLQ         $2, R9
	MOVQ         k+40(FP), R10
	MOVQ         n+48(FP), CX
	VBROADCASTSS alpha+56(FP), X15

gt64:
	CMPQ    CX, $64
	JLT     gt32
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y4
	VMOVUPS 160(DI), Y5
	VMOVUPS 192(DI), Y6
	VMOVUPS 224(DI), Y7
	MOVQ    SI, R11
	MOVQ    DX, R12
	MOVQ    R10, R13

gt64row:
	TESTQ        R13, R13
	JE           gt64end
	VMOVSS       (R11), X8
	VMULSS       X15, X8, X8
	VBROADCASTSS X8, Y8
	VFMADD231PS  (R12), Y8, Y0
	VFMADD231PS  32(R12), Y8, Y1
	VFMADD231PS  64(R12), Y8, Y2
	VFMADD231PS  96(R12), Y8, Y3
	VFMADD231PS  128(R12), Y8, Y4
	VFMADD231PS  160(R12), Y8, Y5
	VFMADD231PS  192(R12), Y8, Y6
	VFMADD231PS  224(R12), Y8, Y7
	ADDQ         R8, R11
	ADDQ         R9, R12
	DECQ         R13
	JMP          gt64row

gt64end:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ    $256, DI
	ADDQ    $256, DX
	SUBQ    $64, CX
	JMP     gt64

gt32:
	CMPQ    CX, $32
	JLT     gt8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ    SI, R11
	MOVQ    DX, R12
	MOVQ    R10, R13

gt32row:
	TESTQ        R13, R13
	JE           gt32end
	VMOVSS       (R11), X8
	VMULSS       X15, X8, X8
	VBROADCASTSS X8, Y8
	VFMADD231PS  (R12), Y8, Y0
	VFMADD231PS  32(R12), Y8, Y1
	VFMADD231PS  64(R12), Y8, Y2
	VFMADD231PS  96(R12), Y8, Y3
	ADDQ         R8, R11
	ADDQ         R9, R12
	DECQ         R13
	JMP          gt32row

gt32end:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, DX
	SUBQ    $32, CX
	JMP     gt32

gt8:
	CMPQ    CX, $8
	JLT     gtdone
	VMOVUPS (DI), Y0
	MOVQ    SI, R11
	MOVQ    DX, R12
	MOVQ    R10, R13

gt8row:
	TESTQ        R13, R13
	JE           gt8end
	VMOVSS       (R11), X8
	VMULSS       X15, X8, X8
	VBROADCASTSS X8, Y8
	VFMADD231PS  (R12), Y8, Y0
	ADDQ         R8, R11
	ADDQ         R9, R12
	DECQ         R13
	JMP          gt8row

gt8end:
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     gt8

gtdone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) (m float32, nan bool)
//
// The largest of x[0:n] (n a multiple of 8, ≥ 8) and whether any was NaN
// (then m is meaningless).
TEXT ·maxAVX2(SB), NOSPLIT, $0-21
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VCMPPS  $3, Y0, Y0, Y1 // unordered: NaN
	MOVQ    $8, BX

mxloop:
	CMPQ    BX, CX
	JGE     mxdone
	VMOVUPS (SI)(BX*4), Y2
	VMAXPS  Y2, Y0, Y0
	VCMPPS  $3, Y2, Y2, Y3
	VORPS   Y3, Y1, Y1
	ADDQ    $8, BX
	JMP     mxloop

mxdone:
	VEXTRACTF128 $1, Y0, X2
	VMAXPS       X2, X0, X0
	VPERMILPS    $0x4e, X0, X2
	VMAXPS       X2, X0, X0
	VPERMILPS    $0xb1, X0, X2
	VMAXPS       X2, X0, X0
	VMOVSS       X0, m+16(FP)
	VMOVMSKPS    Y1, AX
	TESTL        AX, AX
	SETNE        nan+20(FP)
	VZEROUPPER
	RET

DATA tanhc<>+0(SB)/4, $0xbbbaf0ea  // -5.70498872745e-3: Cephes tanhf polynomial for |x| < 0.625
DATA tanhc<>+4(SB)/4, $0x3ca9134e  // 2.06390887954e-2
DATA tanhc<>+8(SB)/4, $0xbd5c1e2d  // -5.37397155531e-2
DATA tanhc<>+12(SB)/4, $0x3e088393 // 1.33314422036e-1
DATA tanhc<>+16(SB)/4, $0xbeaaaa99 // -3.33332819422e-1
DATA tanhc<>+20(SB)/4, $0x3f200000 // 0.625
DATA tanhc<>+24(SB)/4, $0x7fffffff // |x| mask
DATA tanhc<>+28(SB)/4, $0x40000000 // 2
GLOBL tanhc<>(SB), RODATA|NOPTR, $32

// TANHCONSTS loads TANH8's constants.
#define TANHCONSTS \
	VBROADCASTSS expc<>+0(SB), Y3; \
	VBROADCASTSS expc<>+4(SB), Y4; \
	VBROADCASTSS expc<>+8(SB), Y5; \
	VBROADCASTSS expc<>+12(SB), Y6; \
	VBROADCASTSS expc<>+16(SB), Y7; \
	VBROADCASTSS expc<>+20(SB), Y8; \
	VBROADCASTSS expc<>+48(SB), Y9; \
	VPBROADCASTD expc<>+52(SB), Y10; \
	VBROADCASTSS tanhc<>+20(SB), Y14; \
	VBROADCASTSS tanhc<>+24(SB), Y15

// TANH8 sets Y2 = tanh(Y13) for 8 lanes, as Tanh32 (Cephes tanhf: the odd
// polynomial below |x| = 0.625 with x's sign kept, 1 − 2/(e^2x + 1) above,
// with exp32's range clamp, reduction and polynomial) but with fused
// multiply-adds, so within an ulp of it rather than equal; NaN propagates.
// It needs the constants of tanhAVX2's prologue in Y3–Y10, Y14 and Y15, and
// clobbers Y0, Y1, Y11 and Y12.
#define TANH8 \
	VADDPS       Y13, Y13, Y0; \
	EXP8; \
	VADDPS       Y9, Y2, Y2; \
	VBROADCASTSS tanhc<>+28(SB), Y11; \
	VDIVPS       Y2, Y11, Y2; \
	VSUBPS       Y2, Y9, Y2; \
	VMULPS       Y13, Y13, Y12; \
	VBROADCASTSS tanhc<>+0(SB), Y0; \
	FHORNER(tanhc<>+4(SB), Y12, Y0); \
	FHORNER(tanhc<>+8(SB), Y12, Y0); \
	FHORNER(tanhc<>+12(SB), Y12, Y0); \
	FHORNER(tanhc<>+16(SB), Y12, Y0); \
	VMULPS       Y12, Y0, Y0; \
	VFMADD213PS  Y13, Y13, Y0; \
	VANDPS       Y15, Y0, Y0; \
	VANDNPS      Y13, Y15, Y12; \
	VORPS        Y12, Y0, Y0; \
	VANDPS       Y15, Y13, Y1; \
	VCMPPS       $1, Y14, Y1, Y1; \
	VBLENDVPS    Y1, Y0, Y2, Y2

// func tanhAVX2(dst, src *float32, n int)
//
// dst[i] = tanh(src[i]) for n (a multiple of 8) elements, as Tanh32 (Cephes
// tanhf: the odd polynomial below |x| = 0.625, 1 − 2/(e^2x + 1) above, with
// exp32's polynomial) but with fused multiply-adds, so within an ulp of it
// rather than equal. NaN propagates.
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	TANHCONSTS
	XORQ         BX, BX

thloop:
	CMPQ         BX, CX
	JGE          thdone
	VMOVUPS      (SI)(BX*4), Y13          // x
	TANH8
	VMOVUPS      Y2, (DI)(BX*4)
	ADDQ         $8, BX
	JMP          thloop

thdone:
	VZEROUPPER
	RET

DATA geluc<>+0(SB)/4, $0x3f4c422a  // √(2/π)
DATA geluc<>+4(SB)/4, $0x3d372713  // 0.044715
DATA geluc<>+8(SB)/4, $0x3f000000  // 0.5
DATA geluc<>+12(SB)/4, $0x3e095d4f // 3·0.044715
DATA geluc<>+16(SB)/4, $0x3ecc422a // ½·√(2/π)
GLOBL geluc<>(SB), RODATA|NOPTR, $20

// func geluAVX2(y, t, x *float32, n int)
//
// GELU's forward pass for n (a multiple of 8) elements: t = tanh(u) with
// u = √(2/π)·(x + 0.044715·x³), and y = ½·x·(1 + t).
TEXT ·geluAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ t+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	TANHCONSTS
	XORQ BX, BX

geloop:
	CMPQ         BX, CX
	JGE          gedone
	VMOVUPS      (SI)(BX*4), Y13
	VMULPS       Y13, Y13, Y0
	VMULPS       Y13, Y0, Y0              // x³
	VBROADCASTSS geluc<>+4(SB), Y1
	VFMADD213PS  Y13, Y1, Y0              // x + 0.044715·x³
	VBROADCASTSS geluc<>+0(SB), Y1
	VMULPS       Y1, Y0, Y13              // u
	TANH8
	VMOVUPS      Y2, (R8)(BX*4)
	VMOVUPS      (SI)(BX*4), Y13
	VADDPS       Y9, Y2, Y2               // 1 + t
	VBROADCASTSS geluc<>+8(SB), Y1
	VMULPS       Y1, Y13, Y0              // ½·x
	VMULPS       Y0, Y2, Y2
	VMOVUPS      Y2, (DI)(BX*4)
	ADDQ         $8, BX
	JMP          geloop

gedone:
	VZEROUPPER
	RET

// func geluBackAVX2(d, x, t *float32, n int)
//
// d ·= ½(1 + t) + ½·√(2/π)·x·(1 − t²)·(1 + 3·0.044715·x²) for n (a multiple
// of 8) elements: GELU's derivative from its input x and saved tanh t.
TEXT ·geluBackAVX2(SB), NOSPLIT, $0-32
	MOVQ         d+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         t+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS expc<>+48(SB), Y9        // 1
	VBROADCASTSS geluc<>+8(SB), Y10       // ½
	VBROADCASTSS geluc<>+12(SB), Y11      // 3·0.044715
	VBROADCASTSS geluc<>+16(SB), Y12      // ½·√(2/π)
	XORQ         BX, BX

gbloop:
	CMPQ         BX, CX
	JGE          gbdone
	VMOVUPS      (SI)(BX*4), Y0           // x
	VMOVUPS      (R8)(BX*4), Y1           // t
	VMOVAPS      Y10, Y2
	VFMADD231PS  Y10, Y1, Y2              // ½ + ½·t
	VMOVAPS      Y9, Y3
	VFNMADD231PS Y1, Y1, Y3               // 1 − t²
	VMULPS       Y0, Y0, Y4
	VMOVAPS      Y9, Y5
	VFMADD231PS  Y11, Y4, Y5              // 1 + 3·0.044715·x²
	VMULPS       Y3, Y0, Y3
	VMULPS       Y5, Y3, Y3               // x·(1 − t²)·(1 + …)
	VFMADD231PS  Y12, Y3, Y2              // the derivative
	VMULPS       (DI)(BX*4), Y2, Y2
	VMOVUPS      Y2, (DI)(BX*4)
	ADDQ         $8, BX
	JMP          gbloop

gbdone:
	VZEROUPPER
	RET

// HSUM8 sums the 8 lanes of Y into the low lane of X (its xmm half),
// clobbering Xt.
#define HSUM8(Y, X, Xt) \
	VEXTRACTF128 $1, Y, Xt; \
	VADDPS       Xt, X, X; \
	VHADDPS      X, X, X; \
	VHADDPS      X, X, X

// func lnRowAVX2(y, xh, x, gain, b *float32, d int, eps float32) (rstd float32)
//
// LayerNorm of one row of d (a multiple of 8) features: mean and variance
// (two passes), rstd = 1/√(var + eps), xh = (x − mean)·rstd, y = xh·gain + b.
TEXT ·lnRowAVX2(SB), NOSPLIT, $0-60
	MOVQ      y+0(FP), DI
	MOVQ      xh+8(FP), R8
	MOVQ      x+16(FP), SI
	MOVQ      gain+24(FP), R9
	MOVQ      b+32(FP), R10
	MOVQ      d+40(FP), CX
	VCVTSI2SSQ CX, X15, X15                // d
	VXORPS    Y0, Y0, Y0
	XORQ      BX, BX

lnsum:
	VADDPS (SI)(BX*4), Y0, Y0
	ADDQ   $8, BX
	CMPQ   BX, CX
	JLT    lnsum
	HSUM8(Y0, X0, X1)
	VDIVSS       X15, X0, X0              // mean
	VBROADCASTSS X0, Y2
	VXORPS       Y4, Y4, Y4
	XORQ         BX, BX

lnvar:
	VMOVUPS     (SI)(BX*4), Y3
	VSUBPS      Y2, Y3, Y3
	VFMADD231PS Y3, Y3, Y4
	ADDQ        $8, BX
	CMPQ        BX, CX
	JLT         lnvar
	HSUM8(Y4, X4, X1)
	VDIVSS       X15, X4, X4              // variance
	VADDSS       eps+48(FP), X4, X4
	VSQRTSS      X4, X4, X4
	VBROADCASTSS expc<>+48(SB), X5        // 1
	VDIVSS       X4, X5, X5               // rstd
	VMOVSS       X5, rstd+56(FP)
	VBROADCASTSS X5, Y5
	XORQ         BX, BX

lnout:
	VMOVUPS     (SI)(BX*4), Y3
	VSUBPS      Y2, Y3, Y3
	VMULPS      Y5, Y3, Y3                // xh
	VMOVUPS     Y3, (R8)(BX*4)
	VMOVUPS     (R10)(BX*4), Y6
	VFMADD231PS (R9)(BX*4), Y3, Y6        // xh·g + b
	VMOVUPS     Y6, (DI)(BX*4)
	ADDQ        $8, BX
	CMPQ        BX, CX
	JLT         lnout
	VZEROUPPER
	RET

// func lnBackRowAVX2(dx, dy, xh, gain, gg, bg *float32, d int, rstd float32)
//
// LayerNorm's backward pass for one row of d (a multiple of 8) features:
// gg += dy·xh, bg += dy, and dx = rstd·(dy·gain − mean(dy·gain) −
// xh·mean(dy·gain·xh)).
TEXT ·lnBackRowAVX2(SB), NOSPLIT, $0-60
	MOVQ       dx+0(FP), DI
	MOVQ       dy+8(FP), SI
	MOVQ       xh+16(FP), R8
	MOVQ       gain+24(FP), R9
	MOVQ       gg+32(FP), R10
	MOVQ       bg+40(FP), R11
	MOVQ       d+48(FP), CX
	VCVTSI2SSQ CX, X15, X15               // d
	VXORPS     Y0, Y0, Y0                 // Σ dy·g
	VXORPS     Y1, Y1, Y1                 // Σ dy·g·xh
	XORQ       BX, BX

lbsum:
	VMOVUPS     (SI)(BX*4), Y2            // dy
	VMOVUPS     (R8)(BX*4), Y3            // xh
	VMOVUPS     (R10)(BX*4), Y4
	VFMADD231PS Y3, Y2, Y4
	VMOVUPS     Y4, (R10)(BX*4)           // gg += dy·xh
	VADDPS      (R11)(BX*4), Y2, Y4
	VMOVUPS     Y4, (R11)(BX*4)           // bg += dy
	VMULPS      (R9)(BX*4), Y2, Y2        // dy·g
	VADDPS      Y2, Y0, Y0
	VFMADD231PS Y3, Y2, Y1
	ADDQ        $8, BX
	CMPQ        BX, CX
	JLT         lbsum
	HSUM8(Y0, X0, X2)
	HSUM8(Y1, X1, X2)
	VDIVSS       X15, X0, X0
	VDIVSS       X15, X1, X1
	VBROADCASTSS X0, Y0                   // mean(dy·g)
	VBROADCASTSS X1, Y1                   // mean(dy·g·xh)
	VBROADCASTSS rstd+56(FP), Y5
	XORQ         BX, BX

lbout:
	VMOVUPS      (SI)(BX*4), Y2
	VMULPS       (R9)(BX*4), Y2, Y2       // dy·g
	VSUBPS       Y0, Y2, Y2
	VFNMADD231PS (R8)(BX*4), Y1, Y2       // − xh·mean(dy·g·xh)
	VMULPS       Y5, Y2, Y2
	VMOVUPS      Y2, (DI)(BX*4)
	ADDQ         $8, BX
	CMPQ         BX, CX
	JLT          lbout
	VZEROUPPER
	RET

DATA logc<>+0(SB)/4, $0x3f800000  // 1
DATA logc<>+4(SB)/4, $0x0000007e  // 126 (an integer)
DATA logc<>+8(SB)/4, $0x007fffff  // mantissa bits
DATA logc<>+12(SB)/4, $0x3f000000 // exponent bits of [0.5, 1)
DATA logc<>+16(SB)/4, $0x3f3504f3 // √½
DATA logc<>+20(SB)/4, $0x3d9021bb // Cephes logf polynomial, highest degree first
DATA logc<>+24(SB)/4, $0xbdebd1b8
DATA logc<>+28(SB)/4, $0x3def251a
DATA logc<>+32(SB)/4, $0xbdfe5d4f
DATA logc<>+36(SB)/4, $0x3e11e9bf
DATA logc<>+40(SB)/4, $0xbe2aae50
DATA logc<>+44(SB)/4, $0x3e4cceac
DATA logc<>+48(SB)/4, $0xbe7ffffc
DATA logc<>+52(SB)/4, $0x3eaaaaaa
DATA logc<>+56(SB)/4, $0xb95e8083 // ln 2, low part (-2.12194440e-4)
DATA logc<>+60(SB)/4, $0xbf000000 // -0.5
DATA logc<>+64(SB)/4, $0x3f318000 // ln 2, high part (0.693359375)
DATA logc<>+68(SB)/4, $0x00800000 // the smallest normal, 2^-126
DATA logc<>+72(SB)/4, $0x7f7fffff // the largest finite float32
DATA logc<>+76(SB)/4, $0xff800000 // -Inf
DATA logc<>+80(SB)/4, $0x7fc00000 // NaN
GLOBL logc<>(SB), RODATA|NOPTR, $84

// func log1pAVX2(dst, src *float32, n int)
//
// dst[i] = log(1 + src[i]) for n (a multiple of 8) elements, exactly as
// Log1p32 computes it: Log32 of w = 1 + x (Cephes logf, with its special
// cases) times x/(w − 1), x itself where w rounds to 1. Every operation is
// rounded separately (no fused multiply-adds), so the results equal
// Log1p32's bit for bit (NaNs aside).
TEXT ·log1pAVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS logc<>+0(SB), Y15 // 1
	XORQ         BX, BX

l1ploop:
	CMPQ         BX, CX
	JGE          l1pdone
	VMOVUPS      (SI)(BX*4), Y13   // x
	VADDPS       Y13, Y15, Y14     // w = 1 + x
	VPSRLD       $23, Y14, Y0
	VPBROADCASTD logc<>+4(SB), Y1
	VPSUBD       Y1, Y0, Y0
	VCVTDQ2PS    Y0, Y0            // e = exponent − 126
	VPBROADCASTD logc<>+8(SB), Y1
	VPAND        Y1, Y14, Y2
	VPBROADCASTD logc<>+12(SB), Y1
	VPOR         Y1, Y2, Y2        // m in [0.5, 1)
	VBROADCASTSS logc<>+16(SB), Y1
	VCMPPS       $1, Y1, Y2, Y3    // m < √½
	VSUBPS       Y15, Y0, Y1
	VBLENDVPS    Y3, Y1, Y0, Y0    // e−1 there
	VADDPS       Y2, Y2, Y1
	VSUBPS       Y15, Y1, Y1       // m + m − 1
	VSUBPS       Y15, Y2, Y2       // m − 1
	VBLENDVPS    Y3, Y1, Y2, Y2    // m
	VMULPS       Y2, Y2, Y4        // z = m·m
	VBROADCASTSS logc<>+20(SB), Y5
	VMULPS       Y2, Y5, Y5
	HORNER(logc<>+24(SB), Y2, Y5)
	HORNER(logc<>+28(SB), Y2, Y5)
	HORNER(logc<>+32(SB), Y2, Y5)
	HORNER(logc<>+36(SB), Y2, Y5)
	HORNER(logc<>+40(SB), Y2, Y5)
	HORNER(logc<>+44(SB), Y2, Y5)
	HORNER(logc<>+48(SB), Y2, Y5)
	VBROADCASTSS logc<>+52(SB), Y1
	VADDPS       Y1, Y5, Y5
	VMULPS       Y2, Y5, Y5
	VMULPS       Y4, Y5, Y5        // y = poly·m·z
	VBROADCASTSS logc<>+56(SB), Y1
	VMULPS       Y0, Y1, Y1
	VADDPS       Y1, Y5, Y5        // y += −2.12194440e-4·e
	VBROADCASTSS logc<>+60(SB), Y1
	VMULPS       Y4, Y1, Y1
	VADDPS       Y1, Y5, Y5        // y += −0.5·z
	VADDPS       Y5, Y2, Y5        // m + y
	VBROADCASTSS logc<>+64(SB), Y1
	VMULPS       Y0, Y1, Y1
	VADDPS       Y1, Y5, Y5        // + 0.693359375·e = log w
	VBROADCASTSS logc<>+68(SB), Y1
	VCMPPS       $1, Y1, Y14, Y3   // w < 2^-126: −Inf
	VBROADCASTSS logc<>+76(SB), Y1
	VBLENDVPS    Y3, Y1, Y5, Y5
	VBROADCASTSS logc<>+72(SB), Y6
	VCMPPS       $0x1e, Y6, Y14, Y7 // w > largest (+Inf): w
	VBLENDVPS    Y7, Y14, Y5, Y5
	VXORPS       Y1, Y1, Y1
	VCMPPS       $1, Y1, Y14, Y3   // w < 0 or NaN: NaN
	VCMPPS       $3, Y14, Y14, Y1
	VORPS        Y1, Y3, Y3
	VBROADCASTSS logc<>+80(SB), Y1
	VBLENDVPS    Y3, Y1, Y5, Y5
	VMULPS       Y13, Y5, Y5       // log w · x
	VSUBPS       Y15, Y14, Y1
	VDIVPS       Y1, Y5, Y5        // / (w − 1)
	VBLENDVPS    Y7, Y14, Y5, Y5   // w > largest: w
	VCMPPS       $0, Y15, Y14, Y3  // w == 1: x
	VBLENDVPS    Y3, Y13, Y5, Y5
	VMOVUPS      Y5, (DI)(BX*4)
	ADDQ         $8, BX
	JMP          l1ploop

l1pdone:
	VZEROUPPER
	RET


// EXP32U sets Y2 = e^Y14 for 8 lanes exactly as Exp32 computes it: +Inf
// above 88.72, 0 below −87.33, otherwise the reduction by ln 2 in two
// parts, the Cephes polynomial and the power of two from the exponent bits,
// every operation rounded separately (no fused multiply-adds, unlike EXP8).
// It needs EXP32CONSTS in Y8–Y13 and clobbers Y0, Y1, Y3 and Y4.
#define EXP32U \
	VMULPS       Y8, Y14, Y3; \
	VADDPS       Y9, Y3, Y3; \
	VROUNDPS     $1, Y3, Y3; \
	VMULPS       Y10, Y3, Y1; \
	VSUBPS       Y1, Y14, Y0; \
	VMULPS       Y11, Y3, Y1; \
	VSUBPS       Y1, Y0, Y0; \
	VBROADCASTSS expc<>+24(SB), Y2; \
	VMULPS       Y0, Y2, Y2; \
	HORNER(expc<>+28(SB), Y0, Y2); \
	HORNER(expc<>+32(SB), Y0, Y2); \
	HORNER(expc<>+36(SB), Y0, Y2); \
	HORNER(expc<>+40(SB), Y0, Y2); \
	VBROADCASTSS expc<>+44(SB), Y1; \
	VADDPS       Y1, Y2, Y2; \
	VMULPS       Y0, Y2, Y2; \
	VMULPS       Y0, Y2, Y2; \
	VADDPS       Y0, Y2, Y2; \
	VADDPS       Y12, Y2, Y2; \
	POW2(Y3, Y13, Y2); \
	VBROADCASTSS expc<>+0(SB), Y1; \
	VCMPPS       $0x1e, Y1, Y14, Y4; \
	VBROADCASTSS expc<>+56(SB), Y1; \
	VBLENDVPS    Y4, Y1, Y2, Y2; \
	VBROADCASTSS expc<>+4(SB), Y1; \
	VCMPPS       $0x11, Y1, Y14, Y4; \
	VANDNPS      Y2, Y4, Y2

// EXP32CONSTS loads EXP32U's constants.
#define EXP32CONSTS \
	VBROADCASTSS expc<>+8(SB), Y8; \
	VBROADCASTSS expc<>+12(SB), Y9; \
	VBROADCASTSS expc<>+16(SB), Y10; \
	VBROADCASTSS expc<>+20(SB), Y11; \
	VBROADCASTSS expc<>+48(SB), Y12; \
	VPBROADCASTD expc<>+52(SB), Y13

// func exp32AVX2(dst, src *float32, n int)
//
// dst[i] = e^src[i] for n (a multiple of 8) elements by EXP32U, equal to
// Exp32 bit for bit (NaNs aside).
TEXT ·exp32AVX2(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	EXP32CONSTS
	XORQ    BX, BX

e32loop:
	CMPQ    BX, CX
	JGE     e32done
	VMOVUPS (SI)(BX*4), Y14
	EXP32U
	VMOVUPS Y2, (DI)(BX*4)
	ADDQ    $8, BX
	JMP     e32loop

e32done:
	VZEROUPPER
	RET

DATA tanh32c<>+0(SB)/4, $0x41100000 // 9: beyond, ±1
DATA tanh32c<>+4(SB)/4, $0xbf800000 // -1
DATA tanh32c<>+8(SB)/4, $0x80000000 // sign bit
GLOBL tanh32c<>(SB), RODATA|NOPTR, $12

// func tanh32AVX2(dst, src *float32, n int)
//
// dst[i] = tanh(src[i]) for n (a multiple of 8) elements exactly as Tanh32
// computes it: ±1 beyond |x| = 9, the odd polynomial with x's sign below
// |x| = 0.625, 1 − 2/(Exp32(2x) + 1) between (EXP32U), every operation
// rounded separately (unlike TANH8), so equal to Tanh32 bit for bit (NaNs
// aside).
TEXT ·tanh32AVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	EXP32CONSTS
	VBROADCASTSS tanh32c<>+8(SB), Y7 // sign bit
	XORQ         BX, BX

t32loop:
	CMPQ         BX, CX
	JGE          t32done
	VMOVUPS      (SI)(BX*4), Y15  // x
	VADDPS       Y15, Y15, Y14    // 2x
	EXP32U
	VADDPS       Y12, Y2, Y2      // e + 1
	VBROADCASTSS tanhc<>+28(SB), Y1
	VDIVPS       Y2, Y1, Y2       // 2/(e + 1)
	VSUBPS       Y2, Y12, Y2      // 1 − 2/(e + 1)
	VMULPS       Y15, Y15, Y5     // z = x·x
	VBROADCASTSS tanhc<>+0(SB), Y6
	VMULPS       Y5, Y6, Y6
	HORNER(tanhc<>+4(SB), Y5, Y6)
	HORNER(tanhc<>+8(SB), Y5, Y6)
	HORNER(tanhc<>+12(SB), Y5, Y6)
	VBROADCASTSS tanhc<>+16(SB), Y1
	VADDPS       Y1, Y6, Y6
	VMULPS       Y5, Y6, Y6
	VMULPS       Y15, Y6, Y6
	VADDPS       Y15, Y6, Y6      // r
	VANDNPS      Y6, Y7, Y6       // |r|
	VANDPS       Y7, Y15, Y1
	VORPS        Y1, Y6, Y6       // with x's sign
	VANDNPS      Y15, Y7, Y3      // |x|
	VBROADCASTSS tanhc<>+20(SB), Y1
	VCMPPS       $0x11, Y1, Y3, Y4 // |x| < 0.625: the polynomial
	VBLENDVPS    Y4, Y6, Y2, Y2
	VBROADCASTSS tanh32c<>+0(SB), Y1
	VCMPPS       $0x1e, Y1, Y3, Y4 // |x| > 9: ±1
	VXORPS       Y0, Y0, Y0
	VCMPPS       $0x1e, Y0, Y15, Y5 // x > 0
	VBROADCASTSS tanh32c<>+4(SB), Y6
	VBLENDVPS    Y5, Y12, Y6, Y6
	VBLENDVPS    Y4, Y6, Y2, Y2
	VMOVUPS      Y2, (DI)(BX*4)
	ADDQ         $8, BX
	JMP          t32loop

t32done:
	VZEROUPPER
	RET

// func dotsAVX2(dst, a, x *float32, n, k int, scale float32)
//
// dst[j] = scale·(a[j·k : j·k+k]·x) for j < n, k a multiple of 8 (≥ 8):
// decoding attention's scores of one query against n cached keys. Eight
// rows at a time share each load of x; their eight sums are reduced
// together by a tree of horizontal adds.
TEXT ·dotsAVX2(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVQ         k+32(FP), R11
	VBROADCASTSS scale+40(FP), Y15
	MOVQ         R11, R8
	SHLQ         $2, R8           // one row in bytes
	LEAQ         (R8)(R8*2), R9   // three rows
	MOVQ         R8, R10
	SHLQ         $2, R10          // four rows

dots8:
	CMPQ   CX, $8
	JLT    dots1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   SI, AX
	LEAQ   (SI)(R10*1), BX
	MOVQ   DX, R12
	MOVQ   R11, R13

dots8k:
	VMOVUPS     (R12), Y8
	VFMADD231PS (AX), Y8, Y0
	VFMADD231PS (AX)(R8*1), Y8, Y1
	VFMADD231PS (AX)(R8*2), Y8, Y2
	VFMADD231PS (AX)(R9*1), Y8, Y3
	VFMADD231PS (BX), Y8, Y4
	VFMADD231PS (BX)(R8*1), Y8, Y5
	VFMADD231PS (BX)(R8*2), Y8, Y6
	VFMADD231PS (BX)(R9*1), Y8, Y7
	ADDQ        $32, AX
	ADDQ        $32, BX
	ADDQ        $32, R12
	SUBQ        $8, R13
	JNE         dots8k

	VHADDPS    Y1, Y0, Y0
	VHADDPS    Y3, Y2, Y2
	VHADDPS    Y5, Y4, Y4
	VHADDPS    Y7, Y6, Y6
	VHADDPS    Y2, Y0, Y0        // rows 0–3, low and high halves
	VHADDPS    Y6, Y4, Y4        // rows 4–7
	VPERM2F128 $0x20, Y4, Y0, Y1
	VPERM2F128 $0x31, Y4, Y0, Y2
	VADDPS     Y2, Y1, Y1
	VMULPS     Y15, Y1, Y1
	VMOVUPS    Y1, (DI)
	ADDQ       $32, DI
	LEAQ       (SI)(R10*2), SI
	SUBQ       $8, CX
	JMP        dots8

dots1:
	TESTQ  CX, CX
	JE     dotsdone
	VXORPS Y0, Y0, Y0
	MOVQ   DX, R12
	MOVQ   R11, R13

dots1k:
	VMOVUPS     (R12), Y8
	VFMADD231PS (SI), Y8, Y0
	ADDQ        $32, SI
	ADDQ        $32, R12
	SUBQ        $8, R13
	JNE         dots1k
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMULSS       X15, X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	DECQ         CX
	JMP          dots1

dotsdone:
	VZEROUPPER
	RET

// ZTANHCONSTS, ZFHORNER, ZEXP16 and ZTANH16 are TANHCONSTS, FHORNER, EXP8
// and TANH8 on 16 lanes of AVX-512 registers, instruction for instruction
// (floor by VRNDSCALEPS, bitwise logic by the integer forms, the blend by
// a mask register), so every lane's result is the same bits.
#define ZTANHCONSTS \
	VBROADCASTSS expc<>+0(SB), Z3; \
	VBROADCASTSS expc<>+4(SB), Z4; \
	VBROADCASTSS expc<>+8(SB), Z5; \
	VBROADCASTSS expc<>+12(SB), Z6; \
	VBROADCASTSS expc<>+16(SB), Z7; \
	VBROADCASTSS expc<>+20(SB), Z8; \
	VBROADCASTSS expc<>+48(SB), Z9; \
	VPBROADCASTD expc<>+52(SB), Z10; \
	VBROADCASTSS tanhc<>+20(SB), Z14; \
	VPBROADCASTD tanhc<>+24(SB), Z15

#define ZFHORNER(c, x, acc) \
	VBROADCASTSS c, Z11; \
	VFMADD213PS  Z11, x, acc

#define ZEXP16 \
	VMINPS       Z0, Z3, Z0; \
	VMAXPS       Z0, Z4, Z0; \
	VMOVAPS      Z6, Z1; \
	VFMADD231PS  Z5, Z0, Z1; \
	VRNDSCALEPS  $1, Z1, Z1; \
	VFNMADD231PS Z7, Z1, Z0; \
	VFNMADD231PS Z8, Z1, Z0; \
	VBROADCASTSS expc<>+24(SB), Z2; \
	ZFHORNER(expc<>+28(SB), Z0, Z2); \
	ZFHORNER(expc<>+32(SB), Z0, Z2); \
	ZFHORNER(expc<>+36(SB), Z0, Z2); \
	ZFHORNER(expc<>+40(SB), Z0, Z2); \
	ZFHORNER(expc<>+44(SB), Z0, Z2); \
	VMULPS       Z0, Z0, Z12; \
	VMULPS       Z12, Z2, Z2; \
	VADDPS       Z0, Z2, Z2; \
	VADDPS       Z9, Z2, Z2; \
	VCVTTPS2DQ   Z1, Z1; \
	VPADDD       Z10, Z1, Z1; \
	VPSLLD       $23, Z1, Z1; \
	VMULPS       Z1, Z2, Z2

#define ZTANH16 \
	VADDPS       Z13, Z13, Z0; \
	ZEXP16; \
	VADDPS       Z9, Z2, Z2; \
	VBROADCASTSS tanhc<>+28(SB), Z11; \
	VDIVPS       Z2, Z11, Z2; \
	VSUBPS       Z2, Z9, Z2; \
	VMULPS       Z13, Z13, Z12; \
	VBROADCASTSS tanhc<>+0(SB), Z0; \
	ZFHORNER(tanhc<>+4(SB), Z12, Z0); \
	ZFHORNER(tanhc<>+8(SB), Z12, Z0); \
	ZFHORNER(tanhc<>+12(SB), Z12, Z0); \
	ZFHORNER(tanhc<>+16(SB), Z12, Z0); \
	VMULPS       Z12, Z0, Z0; \
	VFMADD213PS  Z13, Z13, Z0; \
	VPANDD       Z15, Z0, Z0; \
	VPANDND      Z13, Z15, Z12; \
	VPORD        Z12, Z0, Z0; \
	VPANDD       Z15, Z13, Z1; \
	VCMPPS       $1, Z14, Z1, K1; \
	VMOVAPS      Z0, K1, Z2

// func geluAVX512(y, t, x *float32, n int)
//
// geluAVX2 on 16 lanes at a time (n a multiple of 16): the same bits.
TEXT ·geluAVX512(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ t+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	ZTANHCONSTS
	XORQ BX, BX

gzloop:
	CMPQ         BX, CX
	JGE          gzdone
	VMOVUPS      (SI)(BX*4), Z13
	VMULPS       Z13, Z13, Z0
	VMULPS       Z13, Z0, Z0
	VBROADCASTSS geluc<>+4(SB), Z1
	VFMADD213PS  Z13, Z1, Z0
	VBROADCASTSS geluc<>+0(SB), Z1
	VMULPS       Z1, Z0, Z13
	ZTANH16
	VMOVUPS      Z2, (R8)(BX*4)
	VMOVUPS      (SI)(BX*4), Z13
	VADDPS       Z9, Z2, Z2
	VBROADCASTSS geluc<>+8(SB), Z1
	VMULPS       Z1, Z13, Z0
	VMULPS       Z0, Z2, Z2
	VMOVUPS      Z2, (DI)(BX*4)
	ADDQ         $16, BX
	JMP          gzloop

gzdone:
	VZEROUPPER
	RET
