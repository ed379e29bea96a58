// Package openai is kalm's language-model backend for any server that speaks
// the OpenAI HTTP API (/v1/chat/completions, /v1/embeddings, /v1/models):
// llama.cpp's server, vLLM, Ollama, a hosted API, or `kalm serve-lm`.
//
// Grounding builds a prompt library instead of weights ([Library], the
// backend's checkpoint): a seeded split of the datasets' rollouts into a
// pool of few-shot examples and a held-out set, and a check on the held-out
// set that records the dynamics error, the explanation match rate and the
// generation (action) match rate. Generate, Explain, Predict and Act send
// one chat request per item, with the nearest examples of the pool within a
// token budget and a reply constrained by a JSON schema (the query format
// of package openaiapi); every reply is validated against the env's spec and
// asked again, with the error, a bounded number of times. Encode uses
// /v1/embeddings. Requests run concurrently within a limit and the rate
// limits, each attempt with a timeout, and are retried with backoff after
// timeouts, 429 and 5xx, honouring Retry-After.
//
// The API key is read from the environment only and goes nowhere but the
// Authorization header: not into the library, a config, a stage key, a log
// line or an error.
package openai
