#!/usr/bin/python3
"""Go vs PyTorch gradient steps/s, alternating in short windows on one core.

This host's throughput drifts by up to 2x within minutes (other tenants), so
the two sides must see the same machine minutes. This script keeps both
warm in two processes pinned to the same core and alternates them: a window
of `kalm bench algos -serve` (Go), then a window of ../shared/bench/
bench_torch.py's update for the same workload (torch), many rounds, the
order swapped every round. It reports per workload the median steps/s of
each side and the median and quartiles of the per-round ratio Go / torch.

Usage (from the checkout, ../shared beside it; Debian's python3-torch):
  go build -o bin/kalm ./cmd/kalm
  docs/bench-pingpong.py --rounds 30 --window 0.5 [--algos iql td3bc] [--coretype SkylakeX]

torch runs with one thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1)
and, by default, OpenBLAS's AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX) when
the CPU has AVX-512: Debian's OpenBLAS otherwise picks its SSE3 kernels on
this CPU. Pass --coretype '' to measure torch as Debian ships it.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kalm", default="bin/kalm")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    ap.add_argument("--algos", nargs="+", default=["bc_discrete", "iql", "td3bc", "cql_discrete", "cql"])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--window", type=float, default=0.5, help="seconds per window (cql: 4x this)")
    ap.add_argument("--cpu", type=int, default=0, help="core both processes are pinned to")
    ap.add_argument("--coretype", default=None, help="OPENBLAS_CORETYPE for torch (default SkylakeX with AVX-512)")
    ap.add_argument("--torch-malloc", choices=["default", "heap"], default="default",
                    help="heap: glibc serves torch's large tensors from the heap instead of fresh mmaps "
                         "(MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_), torch at its fastest")
    args = ap.parse_args()

    # OpenBLAS reads its environment when torch loads it: set it, then re-exec.
    coretype = args.coretype
    if coretype is None:
        coretype = "SkylakeX" if "avx512f" in open("/proc/cpuinfo").read() else ""
    if os.environ.get("KALM_PINGPONG_ENV") != "1":
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", KALM_PINGPONG_ENV="1")
        env.pop("OPENBLAS_CORETYPE", None)
        if coretype:
            env["OPENBLAS_CORETYPE"] = coretype
        if args.torch_malloc == "heap":  # glibc reads these at start-up; Go does not use malloc here
            env.update(MALLOC_MMAP_THRESHOLD_=str(1 << 30), MALLOC_TRIM_THRESHOLD_=str(1 << 31))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)

    os.sched_setaffinity(0, {args.cpu})
    sys.path.insert(0, os.path.join(args.shared, "bench"))
    import numpy as np
    import torch
    import bench_torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    go = subprocess.Popen([args.kalm, "bench", "algos", "-serve", "-threads", "1"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, bufsize=1, env=dict(os.environ, GOMAXPROCS="1"))

    def go_window(name, seconds):
        go.stdin.write(f"{name} {seconds}\n")
        go.stdin.flush()
        line = go.stdout.readline().split()
        if len(line) != 3 or line[0] != name:
            sys.exit(f"kalm bench algos -serve answered {line!r} to {name}")
        return int(line[1]) / float(line[2])

    def torch_window(algo, data, seconds):
        n, t0 = 0, time.perf_counter()
        while True:
            algo.train(data.sample())
            n += 1
            t = time.perf_counter() - t0
            if t >= seconds:
                return n / t

    print(f"# torch {torch.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(default)')}, "
          f"malloc {args.torch_malloc}, 1 thread each, pinned to cpu {args.cpu}, {args.rounds} rounds")
    print(f"{'workload':14s} {'Go steps/s':>10s} {'torch':>8s} {'Go/torch':>9s} {'q1':>6s} {'q3':>6s}")
    for name in args.algos:
        algo, data = bench_torch.make(name, 2)
        for _ in range(30):
            algo.train(data.sample())
        seconds = args.window * (4 if name == "cql" else 1)
        go_window(name, seconds)  # build and warm up
        g, t, r = [], [], []
        for i in range(args.rounds):
            if i % 2 == 0:
                gs, ts = go_window(name, seconds), torch_window(algo, data, seconds)
            else:
                ts, gs = torch_window(algo, data, seconds), go_window(name, seconds)
            g.append(gs)
            t.append(ts)
            r.append(gs / ts)
        q = statistics.quantiles(r, n=4)
        print(f"{name:14s} {statistics.median(g):10.1f} {statistics.median(t):8.1f} {statistics.median(r):8.2f}x "
              f"{q[0]:6.2f} {q[2]:6.2f}", flush=True)
    go.stdin.close()
    go.wait()


if __name__ == "__main__":
    main()
