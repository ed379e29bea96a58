//go:build !amd64 || purego

package nn

func kern6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, rows bool) {
	panic("nn: no GEMM micro-kernel on this platform")
}

var packedGemm = false

func kern512(rows bool, mr, cols, k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, mask *float32) {
	panic("nn: no GEMM micro-kernel on this platform")
}

func packT8(dst *float32, ldd int, src *float32, lds int, blocks int) {
	panic("nn: no GEMM micro-kernel on this platform")
}

func packN8(dst *float32, ldd int, src *float32, lds int, rows int, w8 int) {
	panic("nn: no GEMM micro-kernel on this platform")
}
