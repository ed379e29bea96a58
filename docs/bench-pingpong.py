#!/usr/bin/python3
"""Go vs PyTorch gradient steps/s, alternating in short windows on one core.

A shared host's throughput drifts by up to 2x within minutes (other tenants),
so the two sides must see the same machine minutes. This script keeps both
warm in processes pinned to the same core and alternates them: a window of
`kalm bench algos -serve` (Go), then a window of ../shared/bench/
bench_torch.py's update for the same workload (torch), many rounds, the order
swapped every round. It reports per workload the median steps/s of each side
and the median and quartiles of the per-round ratio Go / torch.

torch gets its fastest settings on the machine at hand. OpenBLAS reads
OPENBLAS_CORETYPE when torch loads it, and glibc its malloc thresholds at
start-up, so every candidate is its own warm torch process: OpenBLAS's own
detection (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), SkylakeX where the
CPU has AVX-512 and Haswell where it has AVX2, each with glibc's default
malloc and with large tensors served from the heap. Before each workload's
ping-pong the candidates run alternating short windows of that workload; the
fastest by median plays against Go, and the script prints which it was and
every candidate's figure. It also prints a 256^3 sgemm per kernel set.

Rates are per CPU second of the process that ran the steps (its threads'
schedstat), and each window lasts about --window CPU seconds however much of
the core other tenants take; --clock wall counts wall seconds instead, for an
idle host. Either way both sides run on the same core in the same minutes.

Usage (from the checkout, ../shared beside it; Debian's python3-torch with
libopenblas0, or torch runs on reference BLAS at a thirtieth of the speed):
  go build -o bin/kalm ./cmd/kalm
  docs/bench-pingpong.py --rounds 10 --window 0.5 [--algos iql td3bc] [--coretype SkylakeX] [--torch-malloc heap]

--coretype and --torch-malloc fix a setting instead of measuring the
candidates (--coretype '' is OpenBLAS's own detection: torch as Debian ships
it). Both sides run one thread: torch.set_num_threads(1) and
OPENBLAS_NUM_THREADS=1, GOMAXPROCS=1.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HEAP = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 31)}


def worker(args):
    """A torch process answering "sgemm SECONDS", "make NAME", "run NAME SECONDS" and "drop NAME" on stdin."""
    os.sched_setaffinity(0, {args.cpu})
    sys.path.insert(0, os.path.join(args.shared, "bench"))
    import ctypes

    import numpy as np
    import torch
    import bench_torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    core = "?"
    for line in open("/proc/self/maps"):  # the BLAS torch loaded, to ask OpenBLAS which kernels it runs
        path = line.split()[-1]
        if "blas" in os.path.basename(path) and ".so" in path:
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                core = lib.openblas_get_corename().decode()
            except (OSError, AttributeError):
                core = "not OpenBLAS: " + os.path.basename(path)
            break
    print(f"ready {torch.__version__} {core}", flush=True)
    work = {}
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "sgemm":
            a, b = torch.randn(256, 256), torch.randn(256, 256)
            c = torch.empty(256, 256)
            n, t0 = 0, time.perf_counter()
            while True:
                torch.mm(a, b, out=c)
                n += 1
                t = time.perf_counter() - t0
                if t >= float(cmd[1]):
                    break
        elif cmd[0] == "make":
            algo, data = bench_torch.make(cmd[1], 2)
            for _ in range(30):
                algo.train(data.sample())
            work[cmd[1]] = (algo, data)
            n, t = 0, 1.0
        elif cmd[0] == "drop":
            work.pop(cmd[1], None)
            n, t = 0, 1.0
        else:  # run NAME SECONDS
            algo, data = work[cmd[1]]
            n, t0 = 0, time.perf_counter()
            while True:
                algo.train(data.sample())
                n += 1
                t = time.perf_counter() - t0
                if t >= float(cmd[2]):
                    break
        print(f"{cmd[1] if len(cmd) > 2 else cmd[0]} {n} {t}", flush=True)


def cpu_seconds(pid):
    """The CPU time the threads of process pid have run, in seconds (schedstat: nanoseconds)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(open(f"/proc/{pid}/task/{task}/schedstat").read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total / 1e9


class Clock:
    """How a window is timed. "cpu": a rate is steps per CPU second of the process that ran them,
    and a window lasts long enough in wall time for about the requested CPU seconds, so that other
    tenants' share of the core changes neither; "wall": steps per wall second, as on an idle host."""

    def __init__(self, kind):
        self.kind, self.share = kind, 1.0

    def wall(self, seconds):
        return seconds if self.kind == "wall" else min(seconds / self.share, 20 * seconds)

    def seen(self, cpu, wall):
        if wall > 0:
            self.share = min(max(0.7 * self.share + 0.3 * cpu / wall, 0.02), 1.0)


class Server:
    """A line-protocol process: one request line in, one "NAME COUNT SECONDS" line out."""

    def __init__(self, label, argv, env, clock):
        self.label, self.clock = label, clock
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     env=env)

    def ask(self, request, seconds=None):
        """Sends request, with "{}" replaced by the window's wall seconds, and returns the rate."""
        if seconds is not None:
            request = request.format(f"{self.clock.wall(seconds):.4f}")
        c0 = cpu_seconds(self.proc.pid)
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().split()
        cpu = cpu_seconds(self.proc.pid) - c0
        if len(line) != 3:
            sys.exit(f"{self.label} answered {line!r} to {request!r}")
        n, wall = int(line[1]), float(line[2])
        if seconds is None:
            return 0.0
        self.clock.seen(cpu, wall)
        return n / (cpu if self.clock.kind == "cpu" else wall)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def candidates(args):
    """The torch settings to measure: (label, coretype or "" for OpenBLAS's own detection, malloc)."""
    flags = open("/proc/cpuinfo").read().split()
    if args.coretype is not None:
        cores = [args.coretype]
    else:
        cores = [""] + (["SkylakeX"] if "avx512f" in flags else []) + (["Haswell"] if "avx2" in flags else [])
    mallocs = ["default", "heap"] if args.torch_malloc == "auto" else [args.torch_malloc]
    return [(c, m) for c in cores for m in mallocs]


def alternate(servers, request, seconds, rounds):
    """Median rate per server over rounds of one window each, the order rotated every round; a first
    round warms every server up and is not counted."""
    for s in servers:
        s.ask(request, seconds)
    rates = [[] for _ in servers]
    for r in range(rounds):
        order = list(range(len(servers)))
        order = order[r % len(order):] + order[:r % len(order)]
        if r % 2:
            order.reverse()
        for i in order:
            rates[i].append(servers[i].ask(request, seconds))
    return [statistics.median(x) for x in rates]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kalm", default="bin/kalm")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    ap.add_argument("--algos", nargs="+", default=["bc_discrete", "iql", "td3bc", "cql_discrete", "cql"])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--window", type=float, default=0.5, help="seconds per window (cql: 4x this)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu: rates per CPU second of each process, windows of about --window CPU seconds "
                         "(a shared host's other load then changes neither); wall: per wall second")
    ap.add_argument("--probe-rounds", type=int, default=4, help="rounds of the candidates' windows per workload")
    ap.add_argument("--probe-window", type=float, default=0.25, help="seconds per candidate window (cql: 4x this)")
    ap.add_argument("--cpu", type=int, default=0, help="core every process is pinned to")
    ap.add_argument("--coretype", default=None,
                    help="OPENBLAS_CORETYPE for torch ('' = OpenBLAS's own detection); default: measure the candidates")
    ap.add_argument("--torch-malloc", choices=["auto", "default", "heap"], default="auto",
                    help="heap: glibc serves torch's large tensors from the heap instead of fresh mmaps "
                         "(MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_); auto: measure both")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    os.sched_setaffinity(0, {args.cpu})
    base = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    for k in ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", *HEAP]:
        base.pop(k, None)
    clock = Clock(args.clock)
    torches = []
    seen = set()
    for core, malloc in candidates(args):
        env = dict(base, **(HEAP if malloc == "heap" else {}))
        if core:
            env["OPENBLAS_CORETYPE"] = core
        argv = [sys.executable, os.path.abspath(__file__), "--worker", "--shared", args.shared, "--cpu", str(args.cpu)]
        s = Server(f"torch {core or 'own detection'}/{malloc}", argv, env, clock)
        hello = s.proc.stdout.readline().split()
        if len(hello) != 3 or hello[0] != "ready":
            sys.exit(f"{s.label} started with {hello!r}")
        version, kernels = hello[1], hello[2]
        if kernels.startswith("not") or kernels == "?":
            print(f"# warning: torch does not run on OpenBLAS ({' '.join(hello[2:])}); install libopenblas0")
        if (kernels, malloc) in seen:  # e.g. OpenBLAS's own detection is SkylakeX: measure it once
            s.close()
            continue
        seen.add((kernels, malloc))
        s.kernels, s.malloc = kernels, malloc
        s.setting = f"{kernels}{'' if core else ' (own)'}/{malloc}"
        torches.append(s)

    go = Server("kalm bench algos -serve", [args.kalm, "bench", "algos", "-serve", "-threads", "1"],
                dict(os.environ, GOMAXPROCS="1"), clock)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# {cpu}; torch {version}, 1 thread each, pinned to cpu {args.cpu}, {args.rounds} rounds of "
          f"{args.window} {args.clock} s; load average {os.getloadavg()[0]:.2f} at the start")

    sgemm = [s for s in torches if s.malloc == torches[0].malloc]
    rates = alternate(sgemm, "sgemm {}", 0.2, 5)
    print("# 256^3 sgemm, GFLOP/s: " + ", ".join(f"{s.kernels} {r * 2 * 256 ** 3 / 1e9:.0f}"
                                                  for s, r in zip(sgemm, rates)))
    print(f"{'workload':14s} {'Go steps/s':>10s} {'torch':>8s} {'Go/torch':>9s} {'q1':>6s} {'q3':>6s}  torch setting")
    for name in args.algos:
        seconds = args.window * (4 if name == "cql" else 1)
        probe = args.probe_window * (4 if name == "cql" else 1)
        for s in torches:
            s.ask(f"make {name}")
        peer = torches[0]
        if len(torches) > 1:
            rates = alternate(torches, f"run {name} {{}}", probe, args.probe_rounds)
            peer = torches[max(range(len(torches)), key=rates.__getitem__)]
            print(f"# {name} candidates, steps/s: " + ", ".join(f"{s.setting} {r:.1f}" for s, r in zip(torches, rates)))
        for s in torches:
            if s is not peer:
                s.ask(f"drop {name}")
        go.ask(f"{name} {{}}", seconds)  # build and warm up
        g, t, r = [], [], []
        for i in range(args.rounds):
            if i % 2 == 0:
                gs, ts = go.ask(f"{name} {{}}", seconds), peer.ask(f"run {name} {{}}", seconds)
            else:
                ts, gs = peer.ask(f"run {name} {{}}", seconds), go.ask(f"{name} {{}}", seconds)
            g.append(gs)
            t.append(ts)
            r.append(gs / ts)
        peer.ask(f"drop {name}")
        q = statistics.quantiles(r, n=4)
        print(f"{name:14s} {statistics.median(g):10.1f} {statistics.median(t):8.1f} {statistics.median(r):8.2f}x "
              f"{q[0]:6.2f} {q[2]:6.2f}  {peer.setting}", flush=True)
    go.close()
    for s in torches:
        s.close()


if __name__ == "__main__":
    main()
