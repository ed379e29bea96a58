package nn

import "sync"

// A blocked single-threaded SGEMM for row-major matrices: op(A) and op(B)
// are packed into 6-row and 16-column panels and multiplied by an
// assembly micro-kernel (AVX2+FMA on amd64). It is the default backend where
// the CPU supports it; gonum's Sgemm is the fallback.

const (
	gemmMR = 6
	gemmKC = 256
)

// gemmNR is the micro-kernel's width: 32 with AVX-512, 16 with AVX2.
var gemmNR = 16

var packPool = sync.Pool{New: func() any { return new([]float32) }}

func sgemmPacked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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
	if m == 1 && transA && !transB { // vector·matrix (head weight gradients)
		cr := c[:n]
		if beta == 0 {
			clear(cr)
		} else if beta != 1 {
			scale(beta, cr)
		}
		for kk := range k {
			axpyKernel(alpha*a[kk*lda], b[kk*ldb:kk*ldb+n], cr)
		}
		return
	}
	pa, pb := packPool.Get().(*[]float32), packPool.Get().(*[]float32)
	defer packPool.Put(pa)
	defer packPool.Put(pb)
	mp := (m + gemmMR - 1) / gemmMR
	np := (n + gemmNR - 1) / gemmNR

	var tile [gemmMR * 32]float32
	for k0 := 0; k0 < k; k0 += gemmKC {
		kb := min(gemmKC, k-k0)
		*pa = Grow(*pa, mp*gemmMR*kb)
		*pb = Grow(*pb, np*gemmNR*kb)
		packA(*pa, transA, a, lda, m, k0, kb)
		packB(*pb, transB, b, ldb, n, k0, kb)
		be := beta
		if k0 > 0 {
			be = 1
		}
		for jp := range np {
			j0 := jp * gemmNR
			bp := (*pb)[jp*gemmNR*kb:]
			nr := min(gemmNR, n-j0)
			for ip := range mp {
				i0 := ip * gemmMR
				ap := (*pa)[ip*gemmMR*kb:]
				mr := min(gemmMR, m-i0)
				if mr == gemmMR && nr == gemmNR {
					micro(kb, &ap[0], &bp[0], &c[i0*ldc+j0], ldc, alpha, be)
					continue
				}
				micro(kb, &ap[0], &bp[0], &tile[0], gemmNR, alpha, 0)
				for i := range mr {
					cr := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+nr]
					tr := tile[i*gemmNR : i*gemmNR+nr]
					if be == 0 {
						copy(cr, tr)
						continue
					}
					for j := range cr {
						cr[j] = tr[j] + be*cr[j]
					}
				}
			}
		}
	}
}

// packA writes rows of op(A)[:, k0:k0+kb] as panels of gemmMR rows:
// dst[(p·kb + kk)·MR + ii] = op(A)[p·MR+ii, k0+kk], zero beyond m.
func packA(dst []float32, trans bool, a []float32, lda, m, k0, kb int) {
	for p := 0; p*gemmMR < m; p++ {
		i0 := p * gemmMR
		d := dst[p*gemmMR*kb : (p+1)*gemmMR*kb]
		if i0+gemmMR <= m {
			if trans { // op(A)[i, k] = A[k, i]: six contiguous values per k
				for kk := range kb {
					src := a[(k0+kk)*lda+i0 : (k0+kk)*lda+i0+gemmMR]
					o := d[kk*gemmMR : kk*gemmMR+gemmMR]
					o[0], o[1], o[2], o[3], o[4], o[5] = src[0], src[1], src[2], src[3], src[4], src[5]
				}
				continue
			}
			r0 := a[i0*lda+k0 : i0*lda+k0+kb]
			r1 := a[(i0+1)*lda+k0 : (i0+1)*lda+k0+kb]
			r2 := a[(i0+2)*lda+k0 : (i0+2)*lda+k0+kb]
			r3 := a[(i0+3)*lda+k0 : (i0+3)*lda+k0+kb]
			r4 := a[(i0+4)*lda+k0 : (i0+4)*lda+k0+kb]
			r5 := a[(i0+5)*lda+k0 : (i0+5)*lda+k0+kb]
			for kk := range r0 {
				o := d[kk*gemmMR : kk*gemmMR+gemmMR]
				o[0], o[1], o[2], o[3], o[4], o[5] = r0[kk], r1[kk], r2[kk], r3[kk], r4[kk], r5[kk]
			}
			continue
		}
		for ii := range gemmMR {
			i := i0 + ii
			if i >= m {
				for kk := range kb {
					d[kk*gemmMR+ii] = 0
				}
				continue
			}
			for kk := range kb {
				if trans {
					d[kk*gemmMR+ii] = a[(k0+kk)*lda+i]
				} else {
					d[kk*gemmMR+ii] = a[i*lda+k0+kk]
				}
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
		if trans { // op(B)[k, j] = B[j, k]
			for jj := 0; jj < gemmNR; jj++ {
				if jj >= nr {
					for kk := range kb {
						d[kk*gemmNR+jj] = 0
					}
					continue
				}
				col := b[(j0+jj)*ldb+k0 : (j0+jj)*ldb+k0+kb]
				for kk, v := range col {
					d[kk*gemmNR+jj] = v
				}
			}
			continue
		}
		for kk := range kb {
			row := b[(k0+kk)*ldb+j0 : (k0+kk)*ldb+j0+nr]
			dr := d[kk*gemmNR : (kk+1)*gemmNR]
			copy(dr, row)
			clear(dr[nr:])
		}
	}
}

func micro(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	if gemmNR == 32 {
		kern6x32(k, a, b, c, ldc, alpha, beta)
	} else {
		kern6x16(k, a, b, c, ldc, alpha, beta)
	}
}
