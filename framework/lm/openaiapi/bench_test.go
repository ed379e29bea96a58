package openaiapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

// quickSize is the tinylm of the shipped quick experiment (dim 64, 2
// layers); wideSize is four times as wide and twice as deep.
var (
	quickSize = map[string]any{"dim": 64, "layers": 2, "heads": 4, "vocab": 80, "prior": "none", "warmup": 5, "eval_every": 10, "batch": 8, "dyn_batch": 16}
	wideSize  = map[string]any{"dim": 256, "layers": 4, "heads": 4, "vocab": 80, "prior": "none", "warmup": 5, "eval_every": 10, "batch": 8, "dyn_batch": 16}
)

// BenchmarkServe measures the server over loopback HTTP with concurrent
// clients, each sending its next request when the last is answered:
// predict queries with batching (a batch of up to 64) and without (1), and
// generate queries of 8 steps (never batched), on a tinylm of quick's size;
// and predict queries on a wider one. It reports requests/s and the median
// and 99th-percentile latency.
//
//	go test -run '^$' -bench Serve -benchtime 2000x ./framework/lm/openaiapi
func BenchmarkServe(b *testing.B) {
	for _, c := range []struct {
		size  string
		task  string
		batch int
	}{{"quick", "predict", 64}, {"quick", "predict", 1}, {"quick", "generate", 64}, {"wide", "predict", 64}, {"wide", "predict", 1}} {
		m, ckpt := grounded(b, c.size, map[string]map[string]any{"quick": quickSize, "wide": wideSize}[c.size])
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/%s/batch=%d/clients=%d", c.size, c.task, c.batch, clients), func(b *testing.B) {
				hs, _ := serveModel(b, m, ckpt, "", c.batch)
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				body := func(i int) []byte {
					q := openaiapi.Query{Task: "predict", State: []float32{float32(i % lmtest.Cells), float32(i % 5)}, Action: []float32{float32(i % 3)}}
					if c.task == "generate" {
						q = openaiapi.Query{Task: "generate", Goal: lmtest.GoalText(i % lmtest.Cells), State: []float32{float32(i % 4), float32(i % lmtest.Cells)}, Steps: 8}
					}
					r, _ := json.Marshal(chat(q))
					return r
				}
				var (
					next atomic.Int64
					mu   sync.Mutex
					lat  []time.Duration
					wg   sync.WaitGroup
					fail atomic.Value
				)
				b.ResetTimer()
				start := time.Now()
				for range clients {
					wg.Go(func() {
						for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
							t0 := time.Now()
							resp, err := hc.Post(hs.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body(i)))
							if err != nil {
								fail.Store(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								fail.Store(fmt.Errorf("status %d", resp.StatusCode))
								return
							}
							d := time.Since(t0)
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				if err, ok := fail.Load().(error); ok {
					b.Fatal(err)
				}
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))].Seconds() * 1000 }
				b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
				b.ReportMetric(q(0.5), "p50_ms")
				b.ReportMetric(q(0.99), "p99_ms")
			})
		}
	}
}
