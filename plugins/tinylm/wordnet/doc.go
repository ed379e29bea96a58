// Package wordnet reads Princeton WordNet 3.0 as Debian's wordnet-base package installs it
// (/usr/share/wordnet: index.*, data.* and *.exc, format wndb(5)) and builds tinylm's language
// prior from it: a Mapper that rewrites the words of a goal text a model never saw in training
// into the nearest words it did ("crimson" → "red", "marble" → "ball", "relocated" → "moved").
// A language model trained from scratch knows only its training wording; a pretrained one
// (KALM's Llama-2) knew that crimson is a red. WordNet supplies part of that knowledge.
//
// Open reads the files whole (about 28 MB) and parses synsets on demand; on this project's
// 2-core machine it takes 60–85 ms, loaded by other work, and holds 29.5 MB of heap
// (go test ./plugins/tinylm/wordnet -run - -bench Open), so a plugin process opens it once. Lookups go through morphy's base forms: the exception lists and the
// suffix rules ("relocated" → "relocate", "brought" → "bring").
//
// On CLEVR's rephrase level (go test ./plugins/tinylm/wordnet -run Rephrase -v), into the
// 64 words of 20 phrasings of each training task, at DefaultDepth: 17 of its 37 content word
// forms map to a training word of the same meaning (8 of the 10 colours, not cobalt or plum;
// the 3 object nouns; relocate and shift with their participles; port and starboard); roll → go and bring → make are
// verbs of the wrong kind; guide, steer and the compass words stay, since WordNet relates
// north, west, south and east to each other and not to behind, left, front and right; far →
// right and near → left are wrong (the far side of a horse is its right). Over 1,600 rephrase
// texts (content words: the colour, object, verb and relation words of the rephrase
// vocabulary, listed in rephrase_test.go; texts right: every content word mapped right):
//
//	prior                  content known  content right  words known  texts right  texts clevr.Parse reads right
//	none                            0.0%           0.0%        31.9%         0.0%       100.0%
//	depth 0 (synonyms)             30.9%          30.9%        49.8%         0.0%       100.0%
//	depth 1 (DefaultDepth)         79.4%          72.4%        71.6%         7.1%        75.7%
//	depth 2                        81.9%          72.4%        77.7%         7.1%        73.4%
//	depth 1, far/near kept         74.9%          72.4%        69.8%         7.1%       100.0%
//
// At depth 1, by kind of content word: colours 80.4 % mapped right, object nouns 100 %,
// verbs 35.1 %, relation words 16.9 %. The relation is what a rephrased goal is about, and
// WordNet gives it only for port and starboard.
//
// Tests skip when the database is absent; CI installs wordnet-base (.ci/run).
//
// WordNet licence: WordNet 3.0 is copyright 2006 Princeton University, distributed under a
// licence that permits use, copying, modification and distribution for any purpose without
// fee, provided the copyright notice and the licence text appear in all copies (the text
// heads every data and index file and is in /usr/share/doc/wordnet-base/copyright). kalm
// ships none of WordNet's files; it reads the installed ones.
package wordnet
