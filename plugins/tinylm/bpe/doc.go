// Package bpe is tinylm's subword tokenizer: byte-pair encoding (Sennrich et al. 2016) learned
// from a corpus of goal texts, over lower-cased words with an end-of-word marker.
//
// Why BPE and not WordPiece: BPE's model is an ordered list of merges, learned by counting and
// applied by rank, so training is deterministic, the whole model fits in a golden file a reviewer
// can read (testdata/clevr-merges.golden), and every word whose characters were seen in
// training encodes, with no unknown token: the base alphabet holds every seen character in
// both its word-inner and its word-final form. WordPiece's greedy longest-match needs a "##"
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
