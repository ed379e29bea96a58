package suggest_test

import (
	"fmt"

	"github.com/kalm-go/kalm/internal/suggest"
)

func ExampleDidYouMean() {
	levels := []string{"train", "rephrase", "unseen-easy", "unseen-hard"}
	fmt.Printf("level %q is not a goal level%s\n", "unseen-esay", suggest.DidYouMean("unseen-esay", levels))
	// Output: level "unseen-esay" is not a goal level; did you mean "unseen-easy"?
}
