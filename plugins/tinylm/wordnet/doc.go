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
// What the prior does on CLEVR's rephrase level, and what it cannot do (compass words and
// "far/near side" are not related to behind/front/left/right in WordNet), is measured by
// TestRephraseWords and TestRephraseCoverage (go test -run Rephrase -v).
//
// Tests skip when the database is absent; CI installs wordnet-base (.ci/run).
//
// WordNet licence: WordNet 3.0 is copyright 2006 Princeton University, distributed under a
// licence that permits use, copying, modification and distribution for any purpose without
// fee, provided the copyright notice and the licence text appear in all copies (the text
// heads every data and index file and is in /usr/share/doc/wordnet-base/copyright). kalm
// ships none of WordNet's files; it reads the installed ones.
package wordnet
