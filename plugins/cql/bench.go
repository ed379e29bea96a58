package cql

import (
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// Workloads are the peer benchmark's CQL shapes: cql_discrete (state 10, 40
// actions, 2×256, batch 256, d3rlpy's lr 6.25e-5 and α 1) and cql (CORL's
// continuous CQL with 2×256 networks, state 17, action 6, 10 sampled actions
// per kind, batch 256). Their MFLOP: cql_discrete's is flops.py's 199.229440
// less the target's head beyond the one action it reads
// (nn.MLP.ForwardGather); cql's is 7,006.715904 where flops.py counts
// torch's graph at 7,827.226624, which runs the actor on 10 copies of every
// state and takes the critics' weight gradients in the policy loss: kalm
// runs the actor once on [s; s′] and takes only input gradients there.
func Workloads() []offline.Workload {
	return []offline.Workload{
		{Name: "cql_discrete", Factory: Factory, Batch: 256, MFLOP: 194.117632,
			Hyper: map[string]any{"alpha": 1.0},
			Spec:  offline.Spec{InDim: 10, Space: dataset.DiscreteSpace(40), Steps: 1_000_000}},
		{Name: "cql", Factory: Factory, Batch: 256, MFLOP: 7006.715904,
			Hyper: map[string]any{"actor_lr": 3e-5, "critic_lr": 3e-4, "alpha": 10.0, "n_actions": 10},
			Spec:  offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1), Steps: 1_000_000}},
	}
}
