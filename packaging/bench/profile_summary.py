#!/usr/bin/python3
"""Tables a Chrome trace written by `droplora bench --profile FILE` (LibTorch's
profiler) by op: calls, own time (the op's duration less the ops it called, on
the same thread) and share of the traced time, most expensive first.

    /usr/bin/python3 packaging/bench/profile_summary.py trace.json [--top 25]
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    with open(args.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    by_thread = collections.defaultdict(list)
    for e in spans:
        by_thread[e.get("tid", 0)].append(e)
    own = collections.Counter()
    calls = collections.Counter()
    total = 0.0
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [end, name, children's time]
        def close(until):
            while stack and stack[-1][0] <= until:
                end, name, child, dur = stack.pop()
                own[name] += dur - child
                if stack:
                    stack[-1][2] += dur
        for e in evs:
            close(e["ts"])
            if not stack:
                total += e["dur"]
            stack.append([e["ts"] + e["dur"], e["name"], 0.0, e["dur"]])
            calls[e["name"]] += 1
        close(float("inf"))
    print(f"{'op':40} {'calls':>7} {'own ms':>10} {'share':>7}")
    for name, t in own.most_common(args.top):
        print(f"{name[:40]:40} {calls[name]:7d} {t / 1000:10.1f} {100 * t / total:6.1f}%")
    print(f"traced: {total / 1000:.1f} ms on all threads' outermost ops")


if __name__ == "__main__":
    main()
