package tabletop

// SuccessReward is the reward of the step that achieves the goal (KALM's
// Meta-World wrapper gives +10).
const SuccessReward = 10

// Judgement labels one rollout.
type Judgement struct {
	Rewards   []float32
	Terminals []bool
	Success   bool
	// Steps is the number of leading transitions up to and including the first success.
	Steps int
}

// stage advances k past every stage that holds in s.
func stage(t *Task, k int, s State) int {
	for k < len(t.Stages) && Holds(t.Stages[k], s) {
		k++
	}
	return k
}

// potential is the shaped reward's potential: stages left plus the current stage's distance.
func potential(t *Task, k int, s State) float64 {
	if k >= len(t.Stages) {
		return 0
	}
	return float64(len(t.Stages)-k) + progress(t.Stages[k], s)
}

// Judge labels a rollout of T transitions: obs holds its T+1 states. It needs
// nothing but the states, so it labels imagined rollouts as well as real
// ones. A stage counts once it has held; the goal is achieved when the last
// stage holds after the others did, in order. The reward is 10 × the drop of
// the potential (stages left + the current stage's distance), and
// SuccessReward on the step that achieves the goal, which is terminal.
func Judge(t Task, obs []float32) Judgement {
	T := len(obs)/ObsDim - 1
	j := Judgement{Rewards: make([]float32, max(T, 0)), Terminals: make([]bool, max(T, 0)), Steps: max(T, 0)}
	if T < 1 {
		return j
	}
	s := State(obs[:ObsDim])
	k := stage(&t, 0, s)
	phi := potential(&t, k, s)
	for i := 0; i < T; i++ {
		s = State(obs[(i+1)*ObsDim : (i+2)*ObsDim])
		k = stage(&t, k, s)
		next := potential(&t, k, s)
		j.Rewards[i] = float32(10 * (phi - next))
		phi = next
		if k == len(t.Stages) {
			j.Rewards[i] = SuccessReward
			j.Terminals[i] = true
			j.Success = true
			j.Steps = i + 1
			break
		}
	}
	return j
}
