package td3bc

import (
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// Workloads are the peer benchmark's TD3+BC shapes: state 17, action 6,
// actor and twin critics 2×256, batch 256, actor every 2nd step. Its MFLOP
// is flops.py's 432.930816 less the critic's weight gradient in the actor
// step, which torch computes and discards and kalm skips.
func Workloads() []offline.Workload {
	return []offline.Workload{{Name: "td3bc", Factory: Factory, Batch: 256, MFLOP: 414.580736,
		Hyper: map[string]any{"alpha": 2.5},
		Spec:  offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1), Steps: 1_000_000}}}
}
