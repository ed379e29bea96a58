package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/kalm-go/kalm/framework/algo"
)

// Config holds the backend's settings (lm.config). Base URL and model fall
// back to the environment; the API key is read only from the environment,
// so that it is never part of an experiment file, a stage key or a
// recorded config.
type Config struct {
	// BaseURL is the API's base, up to and including /v1
	// (http://127.0.0.1:8080/v1). Default: $KALM_OPENAI_BASE_URL, then
	// $OPENAI_BASE_URL.
	BaseURL string `json:"base_url"`
	// Model is the chat model's id. Default: $KALM_OPENAI_MODEL, then the
	// server's only model when /v1/models lists one.
	Model string `json:"model"`
	// EmbeddingModel is the model /v1/embeddings is asked for (default Model).
	EmbeddingModel string `json:"embedding_model"`
	// APIKeyEnv names the environment variable holding the key (default:
	// KALM_OPENAI_API_KEY if set, else OPENAI_API_KEY; none: no key).
	APIKeyEnv string `json:"api_key_env"`

	Concurrency       int     `json:"concurrency"`         // requests in flight
	RequestsPerMinute float64 `json:"requests_per_minute"` // 0: unlimited
	TokensPerMinute   float64 `json:"tokens_per_minute"`   // 0: unlimited
	Timeout           float64 `json:"timeout"`             // seconds per attempt
	Retries           int     `json:"retries"`             // more attempts on timeouts, 429 and 5xx
	Backoff           float64 `json:"backoff"`             // seconds before the first retry, doubling
	Repairs           int     `json:"repairs"`             // more attempts on a reply that fails validation
	MaxTokens         int     `json:"max_tokens"`          // per reply (0: a bound from the reply's schema)
	// Bounds sends the schema's bounds (action range, state and rollout
	// lengths); false sends its shape only, for servers whose strict mode
	// refuses them. Replies are checked against the bounds either way.
	Bounds *bool `json:"schema_bounds"`

	Shots   int `json:"shots"`   // few-shot examples per prompt, at most
	Budget  int `json:"budget"`  // the examples' tokens per prompt, at most (a token is estimated as 4 bytes)
	Pool    int `json:"pool"`    // training rollouts the library keeps
	Check   int `json:"check"`   // held-out rollouts of the grounding check
	History int `json:"history"` // most recent steps an act query shows
	Digits  int `json:"digits"`  // significant digits of the examples' numbers

	GenBatch int `json:"gen_batch"` // rollouts requested before they are judged together
}

// DefaultConfig is the configuration used unless told otherwise.
func DefaultConfig() Config {
	return Config{Concurrency: 8, Timeout: 120, Retries: 5, Backoff: 1, Repairs: 2, Shots: 4, Budget: 2000, Pool: 512, Check: 16,
		History: 8, Digits: 4, GenBatch: 64}
}

// Schema declares the settings for `kalm plugins openai`.
func Schema() algo.Schema {
	d := DefaultConfig()
	return algo.Schema{Name: "openai", Params: []algo.Param{
		{Name: "base_url", Type: algo.TypeString, Default: "", Help: "API base up to /v1 (default $KALM_OPENAI_BASE_URL, then $OPENAI_BASE_URL)"},
		{Name: "model", Type: algo.TypeString, Default: "", Help: "chat model id (default $KALM_OPENAI_MODEL, then the server's only model)"},
		{Name: "embedding_model", Type: algo.TypeString, Default: "", Help: "model for /v1/embeddings (default: model)"},
		{Name: "api_key_env", Type: algo.TypeString, Default: "", Help: "environment variable holding the API key (default KALM_OPENAI_API_KEY, then OPENAI_API_KEY; the key itself never goes in a config)"},
		{Name: "concurrency", Type: algo.TypeInt, Default: d.Concurrency, Help: "requests in flight"},
		{Name: "requests_per_minute", Type: algo.TypeFloat, Default: d.RequestsPerMinute, Help: "request rate limit (0: none)"},
		{Name: "tokens_per_minute", Type: algo.TypeFloat, Default: d.TokensPerMinute, Help: "token rate limit, prompt and reply (0: none)"},
		{Name: "timeout", Type: algo.TypeFloat, Default: d.Timeout, Help: "seconds per attempt"},
		{Name: "retries", Type: algo.TypeInt, Default: d.Retries, Help: "more attempts after a timeout, 429 or 5xx (honouring Retry-After)"},
		{Name: "backoff", Type: algo.TypeFloat, Default: d.Backoff, Help: "seconds before the first retry, doubling each time"},
		{Name: "repairs", Type: algo.TypeInt, Default: d.Repairs, Help: "more attempts after a reply that breaks the env's spec, with the error in the prompt"},
		{Name: "max_tokens", Type: algo.TypeInt, Default: d.MaxTokens, Help: "reply tokens at most (0: bounded from the reply's schema)"},
		{Name: "schema_bounds", Type: algo.TypeBool, Default: true, Help: "send the reply schema's bounds (false: its shape only, for servers whose strict mode refuses minItems, minimum, ...; replies are checked against the bounds either way)"},
		{Name: "shots", Type: algo.TypeInt, Default: d.Shots, Help: "few-shot examples per prompt"},
		{Name: "budget", Type: algo.TypeInt, Default: d.Budget, Help: "estimated tokens of the few-shot examples per prompt"},
		{Name: "pool", Type: algo.TypeInt, Default: d.Pool, Help: "training rollouts kept in the prompt library"},
		{Name: "check", Type: algo.TypeInt, Default: d.Check, Help: "held-out rollouts of the grounding check"},
		{Name: "history", Type: algo.TypeInt, Default: d.History, Help: "most recent steps an act prompt shows"},
		{Name: "digits", Type: algo.TypeInt, Default: d.Digits, Help: "significant digits of the examples' numbers"},
		{Name: "gen_batch", Type: algo.TypeInt, Default: d.GenBatch, Help: "rollouts requested before the judge reads them step by step"},
	}}
}

// ParseConfig reads settings over the defaults; unknown keys and bad values
// are errors naming them. A config holding a key is refused without
// repeating it.
func ParseConfig(m map[string]any) (Config, error) {
	c := DefaultConfig()
	for _, k := range []string{"api_key", "key", "apikey", "token"} {
		if _, ok := m[k]; ok {
			return c, fmt.Errorf("openai: config %s: the API key is read from the environment only (KALM_OPENAI_API_KEY or OPENAI_API_KEY, or the variable api_key_env names), never from an experiment file", k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return c, fmt.Errorf("openai: config: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		var names []string
		for _, p := range Schema().Params {
			names = append(names, p.Name)
		}
		return c, fmt.Errorf("openai: config: %v (known settings: %s)", strings.TrimPrefix(err.Error(), "json: "), strings.Join(names, ", "))
	}
	switch {
	case c.Concurrency < 1 || c.GenBatch < 1 || c.Pool < 1 || c.Digits < 1 || c.Digits > 9:
		return c, fmt.Errorf("openai: config concurrency %d, gen_batch %d, pool %d, digits %d: want concurrency, gen_batch, pool ≥ 1 and digits 1..9", c.Concurrency, c.GenBatch, c.Pool, c.Digits)
	case c.Timeout <= 0 || c.Backoff < 0 || c.Retries < 0 || c.Repairs < 0 || c.RequestsPerMinute < 0 || c.TokensPerMinute < 0:
		return c, fmt.Errorf("openai: config timeout %g, backoff %g, retries %d, repairs %d, requests_per_minute %g, tokens_per_minute %g: want timeout > 0 and the others ≥ 0",
			c.Timeout, c.Backoff, c.Retries, c.Repairs, c.RequestsPerMinute, c.TokensPerMinute)
	case c.Shots < 0 || c.Budget < 0 || c.Check < 0 || c.History < 0 || c.MaxTokens < 0:
		return c, fmt.Errorf("openai: config shots %d, budget %d, check %d, history %d, max_tokens %d: want ≥ 0", c.Shots, c.Budget, c.Check, c.History, c.MaxTokens)
	}
	if c.BaseURL == "" {
		c.BaseURL = firstEnv("KALM_OPENAI_BASE_URL", "OPENAI_BASE_URL")
	}
	if c.BaseURL == "" {
		return c, fmt.Errorf("openai: no base URL: set lm.config.base_url (e.g. http://127.0.0.1:8080/v1, where `kalm serve-lm` listens) or KALM_OPENAI_BASE_URL / OPENAI_BASE_URL")
	}
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return c, fmt.Errorf("openai: config base_url %q: want an http:// or https:// URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if c.Model == "" {
		c.Model = os.Getenv("KALM_OPENAI_MODEL")
	}
	return c, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// apiKey reads the key from the environment; it goes only into the
// Authorization header.
func (c Config) apiKey() string {
	if c.APIKeyEnv != "" {
		return os.Getenv(c.APIKeyEnv)
	}
	return firstEnv("KALM_OPENAI_API_KEY", "OPENAI_API_KEY")
}

// keyVar names where the key came from, for errors.
func (c Config) keyVar() string {
	if c.APIKeyEnv != "" {
		return "$" + c.APIKeyEnv
	}
	if os.Getenv("KALM_OPENAI_API_KEY") != "" {
		return "$KALM_OPENAI_API_KEY"
	}
	return "$OPENAI_API_KEY"
}
