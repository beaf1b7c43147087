#!/usr/bin/env python3
"""Where the time of a profiled bench run goes, from the Chrome trace `medsam bench ... --profile FILE` writes.

Prints, as plain text a person can paste into an issue note:
  - the run's span, and on a GPU how much of it the GPU was busy (kernels, copies, memsets) and idle;
  - per training phase (the trainer's medsam::... scopes): host time, and on a GPU the kernel time
    launched from inside the phase (kernels are matched to their launching runtime call by correlation id);
  - the top GPU kernels by total time, or on a CPU trace the top operators by self time.

Reads both trace kinds: Kineto's {"traceEvents": [...]} (LibTorch 2.x; CPU ops, CUDA kernels, runtime
calls) and the legacy profiler's plain event list (Debian's LibTorch 1.13: CPU ops only).
Standard library only: it runs wherever python3 does.
"""
import argparse
import collections
import json
import sys

GPU_CATS = {"kernel", "gpu_memcpy", "gpu_memset"}
LAUNCH_CATS = {"cuda_runtime", "cuda_driver"}


def load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"trace_summary: cannot read {path}: {e}")
    events = data.get("traceEvents", []) if isinstance(data, dict) else data
    out = [e for e in events if isinstance(e, dict) and e.get("ph") == "X" and "dur" in e]
    if not out:
        sys.exit(f"trace_summary: {path} holds no complete ('X') events")
    return out


def union_length(intervals):
    total, end = 0.0, None
    for s, e in sorted(intervals):
        if end is None or s > end:
            total += e - s
            end = e
        elif e > end:
            total += e - end
            end = e
    return total


def self_times(ops):
    """Self time of CPU ops: own duration minus that of the ops directly nested in it (same thread)."""
    own = collections.defaultdict(float)
    counts = collections.Counter()
    by_thread = collections.defaultdict(list)
    for e in ops:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    for evs in by_thread.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []
        for e in evs:
            s, d = float(e["ts"]), float(e["dur"])
            while stack and s >= stack[-1]["end"]:
                done = stack.pop()
                own[done["name"]] += done["dur"] - done["child"]
            if stack:
                stack[-1]["child"] += d
            stack.append({"end": s + d, "name": e["name"], "dur": d, "child": 0.0})
            counts[e["name"]] += 1
        for done in stack:
            own[done["name"]] += done["dur"] - done["child"]
    return own, counts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("trace")
    p.add_argument("--top", type=int, default=20, help="rows in the kernel / operator tables")
    a = p.parse_args()
    events = load(a.trace)

    gpu = [e for e in events if e.get("cat") in GPU_CATS]
    # Host-side scopes only: Kineto repeats each scope on the GPU timeline as "gpu_user_annotation".
    phases = [e for e in events
              if str(e.get("name", "")).startswith("medsam::") and e.get("cat") in (None, "user_annotation")]
    ops = [e for e in events if e.get("cat") in (None, "cpu_op", "user_annotation") and e not in gpu]
    start = min(float(e["ts"]) for e in events)
    end = max(float(e["ts"]) + float(e["dur"]) for e in events)
    span = end - start
    print(f"trace {a.trace}: {len(events)} events, span {span / 1e3:.2f} ms")

    busy = union_length([(float(e["ts"]), float(e["ts"]) + float(e["dur"])) for e in gpu]) if gpu else 0.0
    if gpu:
        kernel_sum = sum(float(e["dur"]) for e in gpu)
        print(f"GPU busy {busy / 1e3:.2f} ms ({100 * busy / span:.1f}% of the span), idle {(span - busy) / 1e3:.2f} ms; "
              f"{len(gpu)} kernels/copies summing to {kernel_sum / 1e3:.2f} ms")

    if phases:
        launch_ts = {}
        for e in events:
            if e.get("cat") in LAUNCH_CATS and "correlation" in e.get("args", {}):
                launch_ts[e["args"]["correlation"]] = float(e["ts"])
        spans = sorted((float(e["ts"]), float(e["ts"]) + float(e["dur"]), e["name"]) for e in phases)
        host = collections.defaultdict(float)
        for s, t, name in spans:
            host[name] += t - s
        device = collections.defaultdict(float)
        unattributed = 0.0
        for e in gpu:
            ts = launch_ts.get(e.get("args", {}).get("correlation"))
            owner = next((name for s, t, name in spans if ts is not None and s <= ts <= t), None)
            if owner:
                device[owner] += float(e["dur"])
            else:
                unattributed += float(e["dur"])
        print("\nphase                      host ms" + ("   GPU ms (kernels launched in it)" if gpu else ""))
        for name in sorted(host, key=lambda n: min(s for s, _, m in spans if m == n)):
            row = f"{name:<26} {host[name] / 1e3:8.2f}"
            if gpu:
                row += f"   {device[name] / 1e3:8.2f}"
            print(row)
        if gpu and unattributed:
            print(f"{'(outside the phases)':<26} {'':8}   {unattributed / 1e3:8.2f}")

    if gpu:
        total = collections.defaultdict(float)
        count = collections.Counter()
        for e in gpu:
            total[e["name"]] += float(e["dur"])
            count[e["name"]] += 1
        print(f"\ntop {a.top} GPU kernels by total time (of {busy / 1e3:.2f} ms busy)")
        for name, t in sorted(total.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"{t / 1e3:9.2f} ms {100 * t / max(busy, 1e-9):5.1f}% x{count[name]:<5} {name[:110]}")
    else:
        own, count = self_times([e for e in ops if not str(e.get("name", "")).startswith("medsam::")])
        cpu_total = sum(own.values())
        print(f"\ntop {a.top} CPU operators by self time (of {cpu_total / 1e3:.2f} ms in operators)")
        for name, t in sorted(own.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"{t / 1e3:9.2f} ms {100 * t / max(cpu_total, 1e-9):5.1f}% x{count[name]:<6} {name[:110]}")


if __name__ == "__main__":
    main()
