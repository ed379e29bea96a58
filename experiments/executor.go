package experiments

import (
	"fmt"
	"strings"
)

// ExecutorSpec says where the stages run: `executor:` in the experiment
// file, `kalm run --executor` over it. It is no part of the experiment's
// identity (Hash) nor of any stage key: a grid gives the same results on
// any executor.
type ExecutorSpec struct {
	// Kind is "local" (this machine, kalm run -j) or "slurm".
	Kind  string    `koanf:"kind"`
	Slurm SlurmSpec `koanf:"slurm"`
}

// Executor kinds.
const (
	ExecLocal = "local"
	ExecSlurm = "slurm"
)

// SlurmSpec configures the Slurm executor: each stage is an sbatch job
// running `kalm stage exec` on the shared work directory.
type SlurmSpec struct {
	// Kalm is the kalm binary as the compute nodes see it (default: the
	// path of the kalm that runs `kalm run`, which must then be on a
	// filesystem the nodes share).
	Kalm string `koanf:"kalm"`
	// Retries is how many times a job that ended without finishing its
	// stage (killed, preempted, timed out, node failure) is submitted
	// again; it continues from the stage's last checkpoint.
	Retries int `koanf:"retries"`
	// Poll is how often, in seconds, the host asks squeue about its jobs.
	Poll float64 `koanf:"poll"`
	// Default is every stage's resources; a kind's own entry overrides
	// the fields it sets.
	Default  SlurmResources `koanf:"default"`
	Collect  SlurmResources `koanf:"collect"`
	Ground   SlurmResources `koanf:"ground"`
	Imagine  SlurmResources `koanf:"imagine"`
	Assess   SlurmResources `koanf:"assess"`
	Encode   SlurmResources `koanf:"encode"`
	Train    SlurmResources `koanf:"train"`
	Evaluate SlurmResources `koanf:"evaluate"`
}

// SlurmResources are a job's sbatch resources; zero fields are left to the
// cluster's defaults.
type SlurmResources struct {
	CPUs      int    `koanf:"cpus"`      // --cpus-per-task
	Mem       string `koanf:"mem"`       // --mem, e.g. 4G
	Time      string `koanf:"time"`      // --time, e.g. 2:00:00
	Partition string `koanf:"partition"` // --partition
	Account   string `koanf:"account"`   // --account
	GPUs      int    `koanf:"gpus"`      // --gpus
	// Extra are further sbatch flags, e.g. [--qos=low, --constraint=avx512].
	Extra []string `koanf:"extra"`
}

// kinds pairs each entry of the spec with its name: "default", then the
// stage kinds.
func (s *SlurmSpec) kinds() []struct {
	name string
	r    *SlurmResources
} {
	return []struct {
		name string
		r    *SlurmResources
	}{{"default", &s.Default}, {string(Collect), &s.Collect}, {string(Ground), &s.Ground}, {string(Imagine), &s.Imagine},
		{string(Assess), &s.Assess}, {string(Encode), &s.Encode}, {string(Train), &s.Train}, {string(Evaluate), &s.Evaluate}}
}

// Resources returns the resources of a kind's jobs: Default with the
// kind's own fields over it.
func (s *SlurmSpec) Resources(kind StageKind) SlurmResources {
	r := s.Default
	var k SlurmResources
	for _, e := range s.kinds()[1:] {
		if e.name == string(kind) {
			k = *e.r
		}
	}
	if k.CPUs > 0 {
		r.CPUs = k.CPUs
	}
	if k.GPUs > 0 {
		r.GPUs = k.GPUs
	}
	for _, f := range []struct {
		dst *string
		src string
	}{{&r.Mem, k.Mem}, {&r.Time, k.Time}, {&r.Partition, k.Partition}, {&r.Account, k.Account}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	r.Extra = append(append([]string(nil), r.Extra...), k.Extra...)
	return r
}

func (e *Experiment) validateExecutor(errs *FieldErrors) {
	x := &e.Spec.Executor
	at := e.src.at
	if x.Kind != ExecLocal && x.Kind != ExecSlurm {
		errs.add(at("executor.kind"), "executor.kind", x.Kind, "is not an executor", ExecLocal+", "+ExecSlurm)
	}
	s := &x.Slurm
	if s.Retries < 0 {
		errs.add(at("executor.slurm.retries"), "executor.slurm.retries", s.Retries, "is out of range", "≥ 0")
	}
	if s.Poll <= 0 {
		errs.add(at("executor.slurm.poll"), "executor.slurm.poll", s.Poll, "is out of range", "> 0 seconds")
	}
	for _, k := range s.kinds() {
		r, p := k.r, "executor.slurm."+k.name
		if r.CPUs < 0 {
			errs.add(at(p+".cpus"), p+".cpus", r.CPUs, "is out of range", "≥ 0 (0: the cluster's default)")
		}
		if r.GPUs < 0 {
			errs.add(at(p+".gpus"), p+".gpus", r.GPUs, "is out of range", "≥ 0")
		}
		for i, f := range r.Extra {
			if !strings.HasPrefix(f, "-") {
				q := fmt.Sprintf("%s.extra[%d]", p, i)
				errs.add(at(q), q, f, "is not an sbatch flag", "flags such as --qos=low")
			}
		}
	}
}
