//go:build !amd64 || purego

package nn

func kern6x16(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	panic("nn: no GEMM micro-kernel on this platform")
}

var packedGemm = false

func kern6x32(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	panic("nn: no GEMM micro-kernel on this platform")
}
