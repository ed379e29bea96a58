//go:build !purego

package nn

//go:generate go run gen_gemm512.go

//go:noescape
func kern6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, bias *float32, relu int, rows bool)

//go:noescape
func packN8(dst *float32, ldd int, src *float32, lds int, rows int, w8 int)

//go:noescape
func packT8(dst *float32, ldd int, src *float32, lds int, blocks int)

func init() {
	if useAVX512 {
		gemmMR, gemmNR = 12, 32
	}
}

// packedGemm reports whether sgemmPacked runs on this CPU.
var packedGemm = useAVX2
