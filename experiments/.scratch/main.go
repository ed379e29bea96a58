package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/experiments/runner"
	"github.com/kalm-go/kalm/registry"
	"github.com/kalm-go/kalm/results"
	"github.com/kalm-go/kalm/results/report"
)

func main() {
	ctx := context.Background()
	reg := registry.New(registry.Config{Self: []string{"/tmp/kalm"}, Builtins: []string{"clevr", "bc", "cql", "iql", "td3bc"}})
	defer registry.Cleanup()
	cat := runner.NewRegistry(reg)
	e, err := experiments.Open(os.Args[1], experiments.Options{Environ: os.Environ(), Set: os.Args[3:]})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	t0 := time.Now()
	plan, err := e.Plan(ctx, cat)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("plan took", time.Since(t0))
	work := os.Args[2]
	s, err := results.Open(ctx, work+"/results.db")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	runner.PrintPlan(ctx, os.Stdout, plan, s, work)
	r := &runner.Runner{Store: s, WorkDir: work, Launcher: cat, Workers: 2, Display: runner.NewDisplay(os.Stdout)}
	sum, err := r.Run(ctx, plan)
	fmt.Printf("%+v %v (took %s)\n", sum, err, time.Since(t0))
	report.Write(ctx, os.Stdout, s, report.Options{Experiment: e.Spec.Name})
}
