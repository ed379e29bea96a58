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
// The runner is split along three seams. A Worker runs one stage from its
// description (experiments.StageDescription, stored as
// WORKDIR/stages/KEY.json) through the executors over the plugin
// interfaces, and writes its artifact and a report; it never opens the
// database. Runner.Run is the scheduler: it knows the stage DAG, hands the
// ready stages to a Dispatcher and records what each worker reports. The
// Dispatcher decides where workers run: LocalDispatcher in this process,
// package experiments/runner/slurm as `kalm stage exec` batch jobs.
//
// The runner reaches plugins through the Launcher interface; Registry adapts
// a registry.Registry to it and to experiments.Catalog.
package runner
