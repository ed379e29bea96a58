// Package experiments loads, validates and expands declarative experiment
// files: the grid spec of kalm.
//
// An experiment is read in layers with koanf: built-in defaults (Defaults),
// the YAML or TOML file, KALM_* environment variables (KALM_TRAIN__STEPS=100
// sets train.steps) and --set key=value flags. Every field is checked before
// any work starts; problems come back together as a *FieldErrors whose
// entries name the file and line, the field path, the bad value and the
// allowed values, with a did-you-mean for unknown keys.
//
// The grid's axes (field paths with lists of values) multiply into cells;
// include adds cells, exclude removes them, and every cell runs for each of
// Seeds seeds. Plan turns the cells into a DAG of stages (collect → ground →
// imagine → train → evaluate) whose keys hash everything that determines
// them, so that cells share stages; package experiments/runner executes it.
//
// The shipped experiments (quick, paper-clevr, paper-tabletop,
// algo-sensitivity, data-scaling, real-vs-imagined) are embedded in the binary; Open finds a
// file or a shipped name.
package experiments
