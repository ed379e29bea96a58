package openai

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestBucket drives the rate limiter on a fake clock: a full bucket lends
// its capacity at once, then makes each take wait for its refill; a take
// above the capacity waits for a full bucket, not forever.
func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	var waits []time.Duration
	b := newBucket(120) // 2 a second
	b.since, b.now = now, func() time.Time { return now }
	b.after = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		now = now.Add(d)
		c := make(chan time.Time, 1)
		c <- now
		return c
	}
	ctx := context.Background()
	for _, c := range []struct {
		n    float64
		wait time.Duration // the total wait of this take
	}{
		{100, 0},
		{20, 0}, // the capacity, 120, is used up
		{1, 500 * time.Millisecond},
		{3, 1500 * time.Millisecond},
		{500, 60 * time.Second}, // more than the capacity: a full bucket
	} {
		waits = nil
		if err := b.take(ctx, c.n); err != nil {
			t.Fatal(err)
		}
		var total time.Duration
		for _, w := range waits {
			total += w
		}
		if d := total - c.wait; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("take(%g) waited %v, want %v", c.n, total, c.wait)
		}
	}
	var none *bucket // no limit
	if err := none.take(ctx, 1e9); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	b.after = func(time.Duration) <-chan time.Time { return nil }
	if err := b.take(cctx, 50); err == nil {
		t.Errorf("a take on an empty bucket with a cancelled context returned no error")
	}
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		h    string
		want time.Duration
	}{{"", 0}, {"2", 2 * time.Second}, {"0.5", 500 * time.Millisecond}, {"soon", 0}, {"-3", 0}} {
		if got := retryAfter(c.h); got != c.want {
			t.Errorf("Retry-After %q: %v, want %v", c.h, got, c.want)
		}
	}
	if d := retryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)); d < 8*time.Second || d > 11*time.Second {
		t.Errorf("Retry-After as a date 10 s ahead: %v", d)
	}
}
