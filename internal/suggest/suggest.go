package suggest

import (
	"fmt"
	"strings"
)

// Closest returns the candidate nearest to word by edit distance, ignoring
// case, if it is near enough to be a slip: at most max(2, len(word)/3)
// edits, a swap of two neighbouring letters counting as one ("trian" →
// "train"). Of equally near candidates it returns the first; it returns ""
// when none is near enough.
func Closest(word string, candidates []string) string {
	best, bestD := "", 1<<30
	w := strings.ToLower(word)
	for _, c := range candidates {
		if d := Distance(w, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len([]rune(word))/3) {
		return best
	}
	return ""
}

// DidYouMean is the suffix of an error message for word: `; did you mean
// "x"?` with Closest's candidate, or "" when there is none.
func DidYouMean(word string, candidates []string) string {
	if c := Closest(word, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// Distance is the optimal-string-alignment distance between a and b: the
// insertions, deletions, substitutions and swaps of neighbouring runes that
// turn a into b, no rune edited twice.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	rows := [3][]int{make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur, prev, prev2 := rows[i%3], rows[(i-1)%3], rows[(i+1)%3]
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
	}
	return rows[len(ra)%3][len(rb)]
}
