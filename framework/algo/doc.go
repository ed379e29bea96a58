// Package algo defines kalm's offline RL algorithm plugins: the Algo
// interface, its request and response types, and Serve, which makes a plugin
// binary's main one line:
//
//	func main() { algo.Serve(myAlgo{}) }
//
// Training data moves by file path (see package dataset): a TrainRequest
// names one or more datasets and the weight of each in every batch.
// Checkpoints are files the plugin writes and loads itself.
package algo
