package cql

import (
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// Workloads are the peer benchmark's CQL shapes: cql_discrete (state 10, 40
// actions, 2×256, batch 256, d3rlpy's lr 6.25e-5 and α 1) and cql (CORL's
// continuous CQL with 2×256 networks, state 17, action 6, 10 sampled actions
// per kind, batch 256).
func Workloads() []offline.Workload {
	return []offline.Workload{
		{Name: "cql_discrete", Factory: Factory, Batch: 256,
			Hyper: map[string]any{"alpha": 1.0},
			Spec:  offline.Spec{InDim: 10, Space: dataset.DiscreteSpace(40), Steps: 1_000_000}},
		{Name: "cql", Factory: Factory, Batch: 256,
			Hyper: map[string]any{"actor_lr": 3e-5, "critic_lr": 3e-4, "alpha": 10.0, "n_actions": 10},
			Spec:  offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1), Steps: 1_000_000}},
	}
}
