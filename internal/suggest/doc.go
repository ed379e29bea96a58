// Package suggest finds the word a user probably meant: the one helper
// behind every "did you mean" of kalm's messages (experiment fields and
// values, plugin names, report axes, commands).
package suggest
