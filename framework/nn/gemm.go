package nn

import "sync"

// A blocked single-threaded SGEMM for row-major matrices: op(B) is packed
// into panels of gemmNR columns (Bᵀ by 8×8 AVX transposes) and multiplied by an assembly
// micro-kernel (AVX-512 12×32 or AVX2+FMA 6×16 on amd64) that reads the rows of
// op(A) in place (only a last partial block of rows is packed), in blocks of
// gemmMC rows that stay in L2. It is the default backend where
// the CPU supports it; gonum's Sgemm is the fallback.

const (
	gemmKC = 256
	gemmMC = 192 // rows of op(A) per L2 block (192 × 256 floats = 192 KiB): the best of 48–∞ on 256- and 7,680-row products; a multiple of every gemmMR
)

// gemmMR × gemmNR is the micro-kernel's tile: 12×32 with AVX-512, 6×16 with
// AVX2.
var gemmMR, gemmNR = 6, 16

var packPool = sync.Pool{New: func() any { return new([]float32) }}

func sgemmPacked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmFused(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, false, nil)
}

// sgemmFused is sgemmPacked with an epilogue: C = act(alpha·op(A)·op(B) +
// beta·C + bias) with bias (length n, may be nil) added to every row and
// act = ReLU when relu is set, applied in the micro-kernel while the tile is
// in registers. A non-nil mask, laid out as C (ldc apart), then zeroes every
// element whose mask value is not positive: ReLU′ of the layer below. Only
// the AVX-512 kernels mask in their epilogue, so mask requires gemmNR 32.
func sgemmFused(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool, mask []float32) {
	if (n == 1 && !transA) || (m == 1 && transA && !transB) {
		sgemmVec(transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			if bias != nil {
				addToKernel(row, bias[:n])
			}
			if relu {
				reluKernel(row)
			}
			if mask != nil {
				reluBackKernel(row, mask[i*ldc:i*ldc+n])
			}
		}
		return
	}
	pa, pb := packPool.Get().(*[]float32), packPool.Get().(*[]float32)
	defer packPool.Put(pa)
	defer packPool.Put(pb)
	np := (n + gemmNR - 1) / gemmNR
	var tile [6 * 16]float32 // an AVX2 partial tile
	for k0 := 0; k0 < k; k0 += gemmKC {
		kb := min(gemmKC, k-k0)
		*pa = Grow(*pa, gemmMR*kb)
		*pb = Grow(*pb, np*gemmNR*kb)
		packB(*pb, transB, b, ldb, n, k0, kb)
		be := beta
		if k0 > 0 {
			be = 1
		}
		addBias := bias != nil && k0 == 0
		actRelu := 0
		if relu && k0+kb >= k {
			actRelu = 1
		}
		maskOn := mask != nil && k0+kb >= k
		if gemmNR == 32 {
			// AVX-512: a kernel for every tile up to 12×32, so nothing is
			// padded or packed but op(B).
			for ib := 0; ib < m; ib += gemmMC {
				mb := min(gemmMC, m-ib)
				for jp := range np {
					j0 := jp * gemmNR
					bp := &(*pb)[jp*gemmNR*kb]
					nr := min(gemmNR, n-j0)
					var bz *float32
					if addBias {
						bz = &bias[j0]
					}
					for i0 := ib; i0 < ib+mb; i0 += gemmMR {
						mr := min(gemmMR, ib+mb-i0)
						var mz *float32
						if maskOn {
							mz = &mask[i0*ldc+j0]
						}
						if transA { // op(A)[i, k] = A[k, i]: mr consecutive values per k
							kern512(false, mr, nr, kb, &a[k0*lda+i0], lda, bp, &c[i0*ldc+j0], ldc, alpha, be, bz, actRelu, mz)
						} else { // mr rows of A
							kern512(true, mr, nr, kb, &a[i0*lda+k0], lda, bp, &c[i0*ldc+j0], ldc, alpha, be, bz, actRelu, mz)
						}
					}
				}
			}
			continue
		}
		// AVX2: 6×16 tiles; a partial tile goes through a buffer.
		overlap := be == 0 && kb == k && m >= gemmMR
		// Rows go in blocks of gemmMC so that the block of op(A) stays in
		// L2 while every panel of op(B) passes over it.
		for ib := 0; ib < m; ib += gemmMC {
			mb := min(gemmMC, m-ib)
			mp := (mb + gemmMR - 1) / gemmMR
			if mb%gemmMR != 0 && !overlap { // the last, partial block of rows is packed once
				packA(*pa, transA, a, lda, m, ib+(mp-1)*gemmMR, k0, kb)
			}
			for jp := range np {
				j0 := jp * gemmNR
				bp := &(*pb)[jp*gemmNR*kb]
				nr := min(gemmNR, n-j0)
				for ip := range mp {
					i0 := ib + ip*gemmMR
					mr := min(gemmMR, m-i0)
					if mr < gemmMR && overlap {
						// C = act(A·B + bias) from a single K block is a pure
						// function of the inputs: recompute the last gemmMR rows,
						// some already written, with bit-identical values.
						i0, mr = m-gemmMR, gemmMR
					}
					if mr == gemmMR && nr == gemmNR {
						var bz *float32
						if addBias {
							bz = &bias[j0]
						}
						c0 := &c[i0*ldc+j0]
						if transA { // op(A)[i, k] = A[k, i]: 6 consecutive values per k
							kern6x16(kb, &a[k0*lda+i0], lda, bp, c0, ldc, alpha, be, bz, actRelu)
						} else { // 6 rows of A
							kern6x16r(kb, &a[i0*lda+k0], lda, bp, c0, ldc, alpha, be, bz, actRelu)
						}
						continue
					}
					switch {
					case mr < gemmMR:
						kern6x16(kb, &(*pa)[0], gemmMR, bp, &tile[0], gemmNR, alpha, 0, nil, 0)
					case transA:
						kern6x16(kb, &a[k0*lda+i0], lda, bp, &tile[0], gemmNR, alpha, 0, nil, 0)
					default:
						kern6x16r(kb, &a[i0*lda+k0], lda, bp, &tile[0], gemmNR, alpha, 0, nil, 0)
					}
					for i := range mr {
						cr := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+nr]
						tr := tile[i*gemmNR : i*gemmNR+nr]
						if be == 1 && !addBias && actRelu == 0 && !maskOn { // accumulating a gradient
							addToKernel(cr, tr)
							continue
						}
						for j := range cr {
							v := tr[j]
							if be != 0 {
								v += be * cr[j]
							}
							if addBias {
								v += bias[j0+j]
							}
							if actRelu != 0 && v < 0 {
								v = 0
							}
							if maskOn && !(mask[(i0+i)*ldc+j0+j] > 0) {
								v = 0
							}
							cr[j] = v
						}
					}
				}
			}
		}
	}
}

// sgemmVec handles matrix·vector (n = 1, value heads: op(B) is contiguous)
// and vector·matrix (m = 1, head weight gradients) products.
func sgemmVec(transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if n == 1 && !transA { // matrix·vector (value heads): op(B) is contiguous
		for i := range m {
			v := alpha * dotKernel(a[i*lda:i*lda+k], b[:k])
			if beta != 0 {
				v += beta * c[i*ldc]
			}
			c[i*ldc] = v
		}
		return
	}
	// m = 1, transA, !transB: vector·matrix (head weight gradients)
	cr := c[:n]
	if beta == 0 {
		clear(cr)
	} else if beta != 1 {
		scale(beta, cr)
	}
	for kk := range k {
		axpyKernel(alpha*a[kk*lda], b[kk*ldb:kk*ldb+n], cr)
	}
}

// packA writes the gemmMR rows of op(A)[i0:i0+MR, k0:k0+kb] as one panel:
// dst[kk·MR + ii] = op(A)[i0+ii, k0+kk], zero beyond m.
func packA(dst []float32, trans bool, a []float32, lda, m, i0, k0, kb int) {
	d := dst[:gemmMR*kb]
	for ii := range gemmMR {
		i := i0 + ii
		for kk := range kb {
			switch {
			case i >= m:
				d[kk*gemmMR+ii] = 0
			case trans:
				d[kk*gemmMR+ii] = a[(k0+kk)*lda+i]
			default:
				d[kk*gemmMR+ii] = a[i*lda+k0+kk]
			}
		}
	}
}

// packB writes op(B)[k0:k0+kb, :] as panels of gemmNR columns:
// dst[(p·kb + kk)·NR + jj] = op(B)[k0+kk, p·NR+jj], zero beyond n.
func packB(dst []float32, trans bool, b []float32, ldb, n, k0, kb int) {
	for p := 0; p*gemmNR < n; p++ {
		j0 := p * gemmNR
		nr := min(gemmNR, n-j0)
		d := dst[p*gemmNR*kb : (p+1)*gemmNR*kb]
		if !trans {
			if nr == gemmNR {
				_ = d[(kb-1)*gemmNR+gemmNR-1]
				_ = b[(k0+kb-1)*ldb+j0+gemmNR-1]
				packN8(&d[0], gemmNR, &b[k0*ldb+j0], ldb, kb, gemmNR/8)
				continue
			}
			for kk := range kb {
				row := b[(k0+kk)*ldb+j0 : (k0+kk)*ldb+j0+nr]
				dr := d[kk*gemmNR : (kk+1)*gemmNR]
				copy(dr, row)
				clear(dr[nr:])
			}
			continue
		}
		// op(B)[k, j] = B[j, k]: transpose 8 rows of B at a time.
		kb8 := kb &^ 7
		for jj := 0; jj < gemmNR; jj++ {
			if jj >= nr {
				for kk := range kb {
					d[kk*gemmNR+jj] = 0
				}
				continue
			}
			if jj%8 == 0 && jj+8 <= nr && kb8 > 0 {
				_ = d[(kb8-1)*gemmNR+jj+7]
				_ = b[(j0+jj+7)*ldb+k0+kb8-1]
				packT8(&d[jj], gemmNR, &b[(j0+jj)*ldb+k0], ldb, kb8/8)
				for r := jj; r < jj+8; r++ {
					col := b[(j0+r)*ldb+k0+kb8 : (j0+r)*ldb+k0+kb]
					for kk, v := range col {
						d[(kb8+kk)*gemmNR+r] = v
					}
				}
				jj += 7
				continue
			}
			col := b[(j0+jj)*ldb+k0 : (j0+jj)*ldb+k0+kb]
			for kk, v := range col {
				d[kk*gemmNR+jj] = v
			}
		}
	}
}
