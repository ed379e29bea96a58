// Package env defines kalm's environment plugins: the Env interface a plugin
// implements, its request and response types, and Serve, which turns a plugin
// binary's main into a one-line call:
//
//	func main() { env.Serve(myEnv{}) }
//
// Env holds the methods every environment has. What only some can do is an
// optional capability, a small interface the host checks for: [Configurer],
// [Parser], [Renderer] and [PlausibilityScorer]; across a process boundary a
// missing one answers [ErrNoParser], [ErrNoRender] or [ErrNoPlausibility].
// [BatchJudger] is a speed-up only: [JudgeBatch] labels many rollouts in one
// call to any Env (one RPC to a plugin, which loops over Judge where the env
// has no batch method of its own).
//
// A plugin author never imports go-plugin or gRPC. The host reaches an Env in
// another process through the same interface (see package registry), so code
// written against Env runs in-process in tests and across processes in
// production. Package envtest checks any implementation against the contract.
package env
