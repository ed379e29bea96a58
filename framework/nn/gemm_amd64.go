//go:build !purego

package nn

//go:noescape
func kern6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

// packedGemm reports whether sgemmPacked runs on this CPU.
var packedGemm = useAVX2
