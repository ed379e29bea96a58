package iql

import (
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// Workloads are the peer benchmark's IQL shapes: state 17, action 6, Q1, Q2,
// V and actor 2×256, batch 256 (bench_torch.py (b)). Its MFLOP is flops.py's
// (V runs once on [s; s′], as flops.py counts it).
func Workloads() []offline.Workload {
	return []offline.Workload{{Name: "iql", Factory: Factory, Batch: 256, MFLOP: 536.477696,
		Spec: offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1), Steps: 1_000_000}}}
}
