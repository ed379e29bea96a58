//go:build !amd64 || purego

package nn

func adamKernel(w, g, m, v []float32, k *adamConsts) { adamGo(w, g, m, v, k) }
func reluKernel(y []float32)                         { reluGo(y) }
func reluBackKernel(dy, y []float32)                 { reluBackGo(dy, y) }
func addToKernel(dst, src []float32)                 { addToGo(dst, src) }
