// Package runner executes experiment plans: a memoised DAG of stages
// (collect → ground → imagine → train → evaluate) over the plugin
// interfaces, on a pool of workers.
//
// Every stage writes its artifact into a fresh temporary directory under
// the work directory (default ./.kalm/tmp) with an outcome.json that holds
// what the database records of it; the directory is renamed to
// artifacts/KIND/KEY when complete, and only then is the stage recorded as
// done, in one transaction with its metrics and evaluations. A stage already
// done is never run again; a published artifact whose record was lost to a
// crash is recorded without running. A failed stage fails only the cells
// that need it. Cancelling the context stops running stages, which are
// recorded as interrupted, and removes their partial files.
//
// The runner reaches plugins through the Launcher interface; Registry adapts
// a registry.Registry to it and to experiments.Catalog.
package runner
