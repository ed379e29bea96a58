package cql

import (
	"fmt"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// Factory is CQL, discrete and continuous.
var Factory = offline.Factory{
	Name:   "cql",
	Spaces: []dataset.Kind{dataset.Discrete, dataset.Continuous},
	Params: []offline.Param{
		{Name: "alpha", Type: algo.TypeFloat, Default: 10.0, Help: "conservative weight (KALM Table 3: 10)"},
		{Name: "discount", Type: algo.TypeFloat, Default: 0.99, Help: "γ"},
		{Name: "lr", Type: algo.TypeFloat, Default: 6.25e-5, Help: "discrete: Adam learning rate of the Q network (Table 3)"},
		{Name: "target_update_interval", Type: algo.TypeInt, Default: 8000, Help: "discrete: steps between hard target copies"},
		{Name: "huber_delta", Type: algo.TypeFloat, Default: 1.0, Help: "discrete: Huber threshold of the TD loss"},
		{Name: "actor_lr", Type: algo.TypeFloat, Default: 1e-4, Help: "continuous: actor (and entropy temperature) learning rate"},
		{Name: "critic_lr", Type: algo.TypeFloat, Default: 3e-4, Help: "continuous: critic learning rate"},
		{Name: "tau", Type: algo.TypeFloat, Default: 0.005, Help: "continuous: Polyak rate of the target critics"},
		{Name: "n_actions", Type: algo.TypeInt, Default: 10, Help: "continuous: sampled actions per kind (uniform, π(s), π(s')) in the logsumexp"},
		{Name: "temperature", Type: algo.TypeFloat, Default: 1.0, Help: "continuous: CQL logsumexp temperature"},
		{Name: "initial_temperature", Type: algo.TypeFloat, Default: 1.0, Help: "continuous: the SAC entropy temperature α at the start, tuned from there (CORL: 1; d3rlpy initial_temperature, 1)"},
		{Name: "target_entropy", Type: algo.TypeFloat, Default: 0.0, Help: "continuous: SAC target entropy; 0 means −|A|"},
		{Name: "lagrange", Type: algo.TypeBool, Default: false, Help: "continuous: tune the conservative weight α' by dual gradient descent so the gap logsumexp − Q(s,a) approaches target_action_gap (CORL cql_lagrange; d3rlpy alpha_threshold)"},
		{Name: "target_action_gap", Type: algo.TypeFloat, Default: 0.8, Help: "continuous, with lagrange: the gap α' aims for (CORL cql_target_action_gap, 0.8 in its antmaze configs; d3rlpy calls it alpha_threshold, default 10)"},
		{Name: "alpha_prime_lr", Type: algo.TypeFloat, Default: 0.0, Help: "continuous, with lagrange: Adam learning rate of log α' (initialised to 1 as CORL); 0 means critic_lr, as CORL"},
		{Name: "max_target_backup", Type: algo.TypeBool, Default: false, Help: "continuous: target uses the max over n_actions samples a' ~ π(s') of min(Q1', Q2') (CORL cql_max_target_backup, from JaxCQL)"},
		{Name: "deterministic_backup", Type: algo.TypeBool, Default: false, Help: "continuous: the target's a' is tanh(mean(s')), not a sample (d3rlpy's default soft_q_backup=False, which the KALM paper's Meta-World CQL runs)"},
		{Name: "bc_steps", Type: algo.TypeInt, Default: 0, Help: "continuous: the first bc_steps updates train the actor by maximum likelihood of the data's actions (CORL bc_steps; the CQL authors' policy_eval_start, 40000 of 1M steps); the critics learn throughout"},
		{Name: "bc_weight", Type: algo.TypeFloat, Default: 0.0, Help: "continuous: add bc_weight·mean Σ (tanh μ(s) − a)² to the actor's loss, a pull of its deterministic action towards the data's (TD3+BC's term; 0: none, CORL's actor). 100 closes CQL's gap to the expert on the tabletop's expert data but copies random actions in mixed data (README)"},
		{Name: "backup_entropy", Type: algo.TypeBool, Default: false, Help: "continuous: subtract α·log π(a'|s') from the target value (CORL backup_entropy, default false)"},
	},
	New: New,
}

// New builds a discrete or continuous CQL learner for spec.
func New(spec offline.Spec, h offline.Hyper, rng *rand.Rand) (offline.Learner, error) {
	switch spec.Space.Kind {
	case dataset.Discrete:
		return newDiscrete(spec, h, rng)
	case dataset.Continuous:
		return newContinuous(spec, h, rng)
	}
	return nil, fmt.Errorf("cql: action space kind %q", spec.Space.Kind)
}
