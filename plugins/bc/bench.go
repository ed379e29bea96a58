package bc

import (
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// Workloads are the peer benchmark's BC shapes: bc_discrete, state 10,
// 40 actions, MLP 2×256, batch 256, Adam 1e-3 (bench_torch.py (a)). Its
// MFLOP is flops.py's.
func Workloads() []offline.Workload {
	return []offline.Workload{{Name: "bc_discrete", Factory: Factory, Batch: 256, MFLOP: 119.013376,
		Spec: offline.Spec{InDim: 10, Space: dataset.DiscreteSpace(40), Steps: 1_000_000}}}
}
