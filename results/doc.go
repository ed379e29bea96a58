// Package results is kalm's results store: one SQLite file (by default
// ./.kalm/results.db) in WAL mode, with a schema versioned in code
// (PRAGMA user_version) and marked as kalm's (PRAGMA application_id).
//
// It records experiments (configuration as given and as resolved, kalm
// version, host and environment facts), their cells, the memoised stages the
// cells share with their status, errors and plugin log tails, the stages'
// artifacts, the plugins that ran, metric time series and evaluations.
// Every write is one transaction, so a process killed at any moment leaves a
// database that opens, and a stage's results appear all at once with its
// done status.
//
// Packages results/report and results/plot turn the store into tables and
// figures.
package results
