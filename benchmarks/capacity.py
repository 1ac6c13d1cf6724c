"""A bounded SoftDict under a stream of new keys: memory and time per insert stay flat.

Adds 1,000,000 keys, one by one, to a SoftDict with max_keys=10,000
(evict="lru"), reading a recent key exactly after every ten inserts (a use).
The encoder is a fast hashing one (LexicalEncoder, 64 features) so that the
dict's own costs show. Reported per block of 100,000 inserts: the median
time of one insert (evictions included), its ratio to the median insert into
an unbounded dict growing to max_keys (measured first, in the same run), and
the process's memory (RSS).
Run: python benchmarks/capacity.py [--keys 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from softkv import LexicalEncoder, SoftDict


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--max-keys", type=int, default=10_000)
    args = parser.parse_args()
    unbounded = SoftDict(encoder=LexicalEncoder(n_features=64))
    base = np.empty(args.max_keys)
    for n in range(args.max_keys):
        began = time.perf_counter()
        unbounded[f"event {n}"] = float(n)
        base[n] = time.perf_counter() - began
    baseline = float(np.median(base))
    del unbounded
    d = SoftDict(encoder=LexicalEncoder(n_features=64), max_keys=args.max_keys)
    block = max(args.keys // 10, 1)
    print(f"{args.keys:,} inserts into max_keys={args.max_keys:,} (lru), an exact read every 10 inserts")
    print(f"baseline: median insert into an unbounded dict of up to {args.max_keys:,} keys "
          f"{baseline * 1e6:.1f} us")
    print(f"  {'inserted':>10} {'keys':>7} {'evicted':>9} {'median insert':>14} {'ratio':>6} {'RSS':>8}")
    times = np.empty(block)
    for start in range(0, args.keys, block):
        for i in range(block):
            n = start + i
            began = time.perf_counter()
            d[f"event {n}"] = float(n)
            times[i] = time.perf_counter() - began
            if n % 10 == 9:
                d[f"event {n - 5}"]
        print(f"  {start + block:>10,} {len(d):>7,} {d.evictions:>9,} {np.median(times) * 1e6:>11.1f} us "
              f"{np.median(times) / baseline:>6.2f} {rss_mb():>6.0f} MB", flush=True)


if __name__ == "__main__":
    main()
