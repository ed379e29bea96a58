#!/usr/bin/env bash
# Old-against-new timing of one benchmark on this noisy shared host: builds
# the package's test binary at REV (in a temporary worktree) and from the
# working tree, runs them alternately ROUNDS times (swapping which goes
# first), and prints the medians and the median per-round ratio new/old.
# It is how docs/benchmarks.md's "+x %" figures for single changes were taken.
#
# Usage (from the checkout): docs/bench-ab.sh REV PKG BENCH BENCHTIME ROUNDS [METRIC]
#   docs/bench-ab.sh HEAD~1 ./plugins/td3bc 'Step/td3bc$' 600x 10
#   docs/bench-ab.sh HEAD~1 ./framework/nn 'Block' 150x 4 GFLOP/s
set -euo pipefail
rev=$1 pkg=$2 bench=$3 benchtime=$4 rounds=$5 metric=${6:-steps/s}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach -q "$tmp/old" "$rev"
(cd "$tmp/old" && go test -c -o "$tmp/old.test" "$pkg")
go test -c -o "$tmp/new.test" "$pkg"
run() { GOMAXPROCS=1 "$tmp/$1.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" |
	grep -o "[0-9.]* $metric" | head -1 | cut -d' ' -f1; }
for i in $(seq "$rounds"); do
	if [ $((i % 2)) = 0 ]; then o=$(run old); n=$(run new); else n=$(run new); o=$(run old); fi
	echo "$o $n"
done | python3 -c '
import statistics, sys
o, n = zip(*(map(float, l.split()) for l in sys.stdin))
r = [b / a for a, b in zip(o, n)]
q = statistics.quantiles(r, n=4) if len(r) > 1 else [r[0]] * 3
print("old median %.2f, new median %.2f, new/old median %.3f (quartiles %.3f–%.3f), %d rounds"
      % (statistics.median(o), statistics.median(n), statistics.median(r), q[0], q[2], len(r)))'
