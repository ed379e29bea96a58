// Package plot draws an experiment's results with gonum/plot, as PNG, SVG
// or PDF: grouped bars of success per goal level with ±1 std error bars,
// success against the real dataset size (for grids over dataset.episodes),
// and learning curves of a training metric averaged over seeds.
package plot
