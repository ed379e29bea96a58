// Package report prints an experiment's results from the results store:
// success rate (or mean return) per goal level for every cell group,
// aggregated over seeds as mean ± sample standard deviation with a 95%
// percentile-bootstrap confidence interval and the seed count, as a
// terminal table, Markdown, CSV or JSON (Write). --by picks the grid axes to
// group by (the others are pooled) and --where filters cells.
//
// List prints the recorded experiments and their progress (kalm ls).
package report
