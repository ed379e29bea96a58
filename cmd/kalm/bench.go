package main

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/plugins/bc"
	"github.com/kalm-go/kalm/plugins/cql"
	"github.com/kalm-go/kalm/plugins/iql"
	"github.com/kalm-go/kalm/plugins/td3bc"
)

// cmdBench measures gradient steps per second of every algorithm at the
// PyTorch peer benchmark's shapes (../shared/bench/bench_torch.py).
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "algos" {
		return &usageError{cmd: "bench", err: errors.New("want `kalm bench algos` (env and plugin-boundary benchmarks are `go test -bench`: see docs/benchmarks.md)")}
	}
	fs := flags("bench algos", "[flags]", stdout)
	seconds := fs.Float64("seconds", 4, "seconds per timing window")
	repeats := fs.Int("repeats", 3, "timing windows per algorithm (the median is reported)")
	only := fs.String("only", "", "comma-separated workloads (bc_discrete, iql, td3bc, cql_discrete, cql, ...)")
	threads := fs.Int("threads", 1, "GOMAXPROCS for the measurement (set OPENBLAS_NUM_THREADS to match for -tags openblas builds)")
	serve := fs.Bool("serve", false, "answer timing requests \"NAME SECONDS\" read from stdin with \"NAME STEPS SECONDS\" (for docs/bench-pingpong.py)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	runtime.GOMAXPROCS(*threads)
	all := [][]offline.Workload{bc.Workloads(), iql.Workloads(), td3bc.Workloads(), cql.Workloads()}
	if *serve {
		return offline.BenchServe(ctx, os.Stdin, stdout, all...)
	}
	_, err := offline.Bench(ctx, stdout, offline.BenchOptions{Seconds: *seconds, Repeats: *repeats, Only: splitAll([]string{*only})}, all...)
	return err
}
