package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

// client calls one OpenAI-compatible server: at most Concurrency requests
// in flight, within the rate limits, each attempt with its timeout, and
// retries with exponential backoff (or the server's Retry-After) after a
// timeout, a dropped connection, 429 or 5xx. The API key lives only here
// and in the Authorization header; errors never carry it.
type client struct {
	cfg   Config
	key   string
	http  *http.Client
	slots chan struct{}
	reqs  *bucket
	toks  *bucket
	stats stats
}

func newClient(cfg Config) *client {
	return &client{cfg: cfg, key: cfg.apiKey(), http: &http.Client{}, slots: make(chan struct{}, cfg.Concurrency),
		reqs: newBucket(cfg.RequestsPerMinute), toks: newBucket(cfg.TokensPerMinute)}
}

// requestError is a request that failed for good. It names the request
// (what: "predict, transition 3 of 10"), the endpoint and the attempts.
type requestError struct {
	what     string
	method   string
	url      string
	status   int
	attempts int
	msg      string
}

func (e *requestError) Error() string {
	s := fmt.Sprintf("openai: %s: %s %s", e.what, e.method, e.url)
	if e.status != 0 {
		s += fmt.Sprintf(": %d %s", e.status, http.StatusText(e.status))
	}
	if e.attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.attempts)
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

// redact removes the key from text a server sent back.
func (c *client) redact(s string) string {
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[key]")
	}
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// post sends body to path and decodes the JSON reply into out. tokens is
// the request's estimated size for the token rate limit. A nil body makes
// it a GET.
func (c *client) post(ctx context.Context, what, path string, body, out any, tokens int) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("openai: %s: %w", what, err)
		}
	}
	url := c.cfg.BaseURL + path
	fail := &requestError{what: what, url: url, method: http.MethodPost}
	if body == nil {
		fail.method = http.MethodGet
	}
	for attempt := 0; ; attempt++ {
		fail.attempts = attempt + 1
		retry, wait, err := c.try(ctx, url, payload, out, tokens, fail)
		if err == nil {
			return nil
		}
		if !retry || attempt >= c.cfg.Retries || ctx.Err() != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("openai: %s: %w", what, ctx.Err())
			}
			return err
		}
		if wait <= 0 {
			wait = time.Duration(c.cfg.Backoff * float64(time.Second) * math.Pow(2, float64(attempt)))
		}
		wait = min(wait, 2*time.Minute)
		c.stats.retry()
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("openai: %s: %w", what, ctx.Err())
		}
	}
}

// try makes one attempt; it says whether another may succeed and how long
// the server asked to wait.
func (c *client) try(ctx context.Context, url string, payload []byte, out any, tokens int, fail *requestError) (bool, time.Duration, error) {
	if err := c.reqs.take(ctx, 1); err != nil {
		return false, 0, err
	}
	if err := c.toks.take(ctx, float64(tokens)); err != nil {
		return false, 0, err
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return false, 0, ctx.Err()
	}
	defer func() { <-c.slots }()
	actx, cancel := context.WithTimeout(ctx, time.Duration(c.cfg.Timeout*float64(time.Second)))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, fail.method, url, bytes.NewReader(payload))
	if err != nil {
		fail.msg = err.Error()
		return false, 0, fail
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, ctx.Err()
		}
		fail.status = 0
		if actx.Err() != nil {
			fail.msg = fmt.Sprintf("no reply within the timeout of %gs", c.cfg.Timeout)
		} else {
			fail.msg = c.redact(unwrapURL(err).Error()) + " (is the server running at " + c.cfg.BaseURL + "?)"
		}
		return true, 0, fail
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	c.stats.latency(time.Since(start))
	fail.status = resp.StatusCode
	if err != nil {
		fail.msg = "reading the reply: " + c.redact(err.Error())
		return true, 0, fail
	}
	if resp.StatusCode/100 != 2 {
		var e openaiapi.ErrorResponse
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			fail.msg = c.redact(e.Error.Message)
		} else {
			fail.msg = c.redact(strings.TrimSpace(string(b)))
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			fail.msg = "the server refused the API key from " + c.cfg.keyVar() + ": " + fail.msg
			if c.key == "" {
				fail.msg = "the server wants an API key; set " + c.cfg.keyVar() + " (or lm.config.api_key_env): " + fail.msg
			}
			return false, 0, fail
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return true, retryAfter(resp.Header.Get("Retry-After")), fail
		}
		return false, 0, fail
	}
	if err := json.Unmarshal(b, out); err != nil {
		fail.msg = "the reply is not the API's JSON: " + c.redact(err.Error())
		return true, 0, fail
	}
	return false, 0, nil
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// bucket is a token bucket refilled at perMinute/60 a second, holding at
// most perMinute; nil (a zero rate) never waits.
type bucket struct {
	mu    sync.Mutex
	rate  float64 // per second
	cap   float64
	have  float64
	since time.Time
	now   func() time.Time                     // time.Now; a test's clock
	after func(time.Duration) <-chan time.Time // time.After
}

func newBucket(perMinute float64) *bucket {
	if perMinute <= 0 {
		return nil
	}
	return &bucket{rate: perMinute / 60, cap: perMinute, have: perMinute, since: time.Now(), now: time.Now, after: time.After}
}

// take waits until n can be taken (n above the capacity takes it all).
func (b *bucket) take(ctx context.Context, n float64) error {
	if b == nil {
		return nil
	}
	n = min(n, b.cap)
	for {
		b.mu.Lock()
		now := b.now()
		b.have = min(b.cap, b.have+now.Sub(b.since).Seconds()*b.rate)
		b.since = now
		if b.have >= n {
			b.have -= n
			b.mu.Unlock()
			return nil
		}
		wait := time.Duration((n - b.have) / b.rate * float64(time.Second))
		b.mu.Unlock()
		select {
		case <-b.after(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stats counts requests, retries, repairs, tokens and latencies.
type stats struct {
	mu                 sync.Mutex
	retries, repairs   int
	prompt, completion int
	lat                []float64 // seconds, one per reply
}

func (s *stats) retry() { s.mu.Lock(); s.retries++; s.mu.Unlock() }

func (s *stats) repair() { s.mu.Lock(); s.repairs++; s.mu.Unlock() }

func (s *stats) latency(d time.Duration) {
	s.mu.Lock()
	s.lat = append(s.lat, d.Seconds())
	s.mu.Unlock()
}

func (s *stats) usage(u openaiapi.Usage) {
	s.mu.Lock()
	s.prompt += u.PromptTokens
	s.completion += u.CompletionTokens
	s.mu.Unlock()
}

// metrics are the counts since the last reset, as stage metrics.
func (s *stats) metrics() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]float64{"http/requests": float64(len(s.lat)), "http/retries": float64(s.retries), "http/repairs": float64(s.repairs),
		"tokens/prompt": float64(s.prompt), "tokens/completion": float64(s.completion)}
	if len(s.lat) > 0 {
		l := append([]float64(nil), s.lat...)
		sort.Float64s(l)
		q := func(p float64) float64 { return 1000 * l[min(len(l)-1, int(p*float64(len(l))))] }
		m["latency/p50_ms"], m["latency/p99_ms"] = q(0.5), q(0.99)
	}
	return m
}
