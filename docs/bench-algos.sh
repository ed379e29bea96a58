#!/bin/bash
# Interleaved Go-vs-torch gradient-step benchmark: for each workload and round,
# one 3 s Go window (default build) then one torch window (OPENBLAS_CORETYPE=SkylakeX),
# all on one core, with ../shared beside the checkout. Usage: docs/bench-algos.sh ROUNDS OUTFILE
set -e
rounds=${1:-3}; out=${2:-/tmp/bench-run.txt}
cd "$(dirname "$0")/.."
for p in bc iql td3bc cql; do (cd plugins/$p && go test -c -o /tmp/kb-$p.test .); done
: > "$out"
for r in $(seq "$rounds"); do
  for w in bc:bc_discrete iql:iql td3bc:td3bc cql:cql_discrete cql:cql; do
    p=${w%%:*}; a=${w##*:}
    GOMAXPROCS=1 /tmp/kb-$p.test -test.run '^$' -test.bench "Step/$a\$" -test.benchtime 3s | grep '^Benchmark' | awk -v r=$r -v a=$a '{for(i=2;i<=NF;i++) if ($i=="steps/s") print "go", r, a, $(i-1)}' >> "$out"
    (cd ../shared/bench && OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench_torch.py --threads 1 --algos $a --seconds 3 --repeats 1 2>/dev/null) | awk -v r=$r -v a=$a '$1==a {for(i=1;i<=NF;i++) if ($i=="median") {print "torch", r, a, $(i+1); exit}}' >> "$out"
  done
done
cat "$out"
