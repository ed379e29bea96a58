// Package bpe is tinylm's subword tokenizer: byte-pair encoding (Sennrich et al. 2016) learned
// from a corpus of goal texts, over lower-cased words with an end-of-word marker.
//
// Why BPE and not WordPiece: BPE's model is an ordered list of merges, learned by counting and
// applied by rank, so training is deterministic, the whole model fits in a golden file a reviewer
// can read (testdata/clevr-merges.golden), and every word in the base alphabet encodes, with
// no unknown token: the base alphabet holds each character of DefaultAlphabet (a–z, 0–9) and
// of the training texts in both its word-inner and its word-final form. DefaultAlphabet is
// there because CLEVR's training texts never write a j, which the rephrase level's "jade"
// holds; TrainAlphabet sets another. A character outside the alphabet is an error naming it. WordPiece's greedy longest-match needs a "##"
// continuation alphabet to give the same guarantee and chooses merges by a likelihood score
// that buys nothing on a corpus of a few hundred words. The end-of-word marker (written
// "</w>" in the merges) makes decoding exact: a piece that ends a word ends it, so Decode
// needs no spacing rules.
//
// Normalisation (Normalize): the text is lower-cased; letters and digits are kept; every other
// character (punctuation, symbols, control characters, whitespace) becomes a word break, so
// punctuation is dropped, as clevr.Parse drops it; runs of breaks collapse into one space.
// Decode(Encode(s)) == Normalize(s) for every s that encodes.
//
// Ids: PAD = 0, BOS = 1, EOS = 2, then the base alphabet (each character's inner form, then its
// final form, characters in code-point order), then one piece per merge in the order learned.
// Encode never emits the specials; Decode skips them.
//
// A Tokenizer is saved as JSON (MarshalJSON) inside a model checkpoint, with a format version
// that UnmarshalJSON checks. It is immutable after Train or UnmarshalJSON and safe for
// concurrent use.
package bpe
