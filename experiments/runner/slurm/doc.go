// Package slurm dispatches the stages of an experiment to a Slurm cluster:
// each stage is an sbatch job running `kalm stage exec KEY` on the work
// directory the host and the nodes share, with --dependency=afterok on the
// jobs of its inputs. Workers write artifacts and reports into the work
// directory and never open the results database; the host (`kalm run`
// while it waits, `kalm sync` later) records them. A job that ends without
// finishing its stage (killed, preempted, timed out) is submitted again up
// to executor.slurm.retries times and continues from the stage's last
// checkpoint; a stage that failed cancels the jobs waiting for it; a later
// `kalm run` adopts the jobs still queued or running by their names
// (kalm-KIND-KEY) instead of submitting them twice; cancelling the host's
// context (Ctrl-C) cancels every job it has in flight.
//
// Commands runs the real sbatch, squeue, scancel and scontrol; the
// Client interface lets the scheduling logic be tested without a cluster.
package slurm
