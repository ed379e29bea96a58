// Package tinylm is kalm's embedded language-model backend: a small
// decoder-only transformer on framework/nn, trained from scratch on an
// environment's data with the four KALM tasks (goal → rollout, rollout →
// goal, dynamics, consequence), then used to imagine rollouts for new goals,
// explain rollouts, predict dynamics, encode goal texts for policies and act
// as a policy.
//
// Numbers enter and leave the sequence as in KALM (Pang et al., NeurIPS
// 2024): a state slot's input is a linear projection of the normalised
// state, a discrete action's an embedding (a continuous one's a
// projection); the hidden state one position before a slot predicts it
// through a state head (the change from the last state, MSE), an action head
// (cross-entropy or MSE) or the token head. The sequences are
//
//	goal → rollout:  BOS G2R goal SEP s0 a0 s1 … sT
//	rollout → goal:  BOS R2G s0 a0 … sT SEP goal EOS
//	dynamics:        BOS DYN s a           (a's position predicts s′)
//	consequence:     BOS CON s0 goal SEP   (SEP's position predicts sT)
//
// With state_slots K the state is K equal entity slots and the state head
// is an interaction network over them ([nn.Interaction]), conditioned on the
// hidden state and reading the last state's slots, its weights shared by
// the slots. With state_pairs as well, the explanation prompt ends with one
// token per ordered pair of slots of the rollout's last step ([nn.Pairs]);
// explain_reads: states leaves the actions out of it, explain_reads: pairs
// makes the pair tokens the whole prompt.
//
// The goal is drawn from the episode's phrasings each time. The loss is
// text + 0.5·state + 0.5·action, as the paper's. Goal texts are tokenized by
// a byte-pair encoding learned from the dataset's goal texts (package bpe),
// saved in the checkpoint. A language prior (package wordnet) maps words the
// grounding data never used to known ones through Debian's WordNet database
// before tokenizing: the prior a model trained from scratch lacks and
// Llama-2 had.
//
// Generation decodes incrementally with a key/value cache per block
// ([nn.Block.Step]), many rollouts at once, each at its own position; the
// host's judge ends each rollout when its goal is reached.
//
// A checkpoint is one file: a magic line, a JSON header (format version,
// shape, settings, tokenizer, state statistics, the env and its action
// space) and the float32 weights; a training checkpoint adds the AdamW
// moments, the best weights so far and the random state, so grounding
// resumes exactly where it stopped.
package tinylm
