package bpe_test

import (
	"encoding/json"
	"fmt"

	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
)

func Example() {
	texts := []string{
		"push the red ball behind the blue ball",
		"push the blue ball in front of the red ball",
		"the red ball should end up behind the blue ball",
	}
	tok, err := bpe.Train(texts, 100)
	if err != nil {
		panic(err)
	}
	ids, err := tok.Encode("Push the BLUE ball behind the red one!")
	if err != nil {
		panic(err)
	}
	for _, id := range ids {
		fmt.Printf("%s|", tok.Piece(id))
	}
	fmt.Println()
	fmt.Println(tok.Decode(ids))

	// Saved inside a checkpoint and loaded back.
	b, _ := json.Marshal(tok)
	var back bpe.Tokenizer
	if err := json.Unmarshal(b, &back); err != nil {
		panic(err)
	}
	fmt.Println(back.Size() == tok.Size(), back.Words()[:4])

	_, err = tok.Encode("push the red ball, señor")
	fmt.Println(err)
	// Output:
	// push</w>|the</w>|blue</w>|ball</w>|behind</w>|the</w>|red</w>|o|n|e</w>|
	// push the blue ball behind the red one
	// true [ball behind blue end]
	// bpe: encode "push the red ball, señor": character 'ñ' (U+00F1) in word "señor" never occurred in the training texts
}
