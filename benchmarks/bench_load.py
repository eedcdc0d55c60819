"""Loading benchmark: first (decode) and cached load of a 300-image pool at 256 px.

Each load runs in a fresh process so that its peak resident memory is its own.
Target (issue 2): the cached load under 0.5 s on a 2-core machine.

    python benchmarks/bench_load.py [--images 300] [--size 256]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from asal.data.images import load_split
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
root, size = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
split = load_split(root, "synth_washer", "train", size)
seconds = time.perf_counter() - start
total = int(split.images.sum())   # touch every byte (the cache is memory-mapped)
touched = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "touched": touched, "base_rss_mib": base, "n": len(split), "shape": list(split.images.shape),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300, help="pool size")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    from asal.data.synthetic import make_synthetic

    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        # The train split is 80 % of the category; files are written at the load size.
        make_synthetic(root, ["synth_washer"], n_images=round(args.images / 0.8),
                       size=args.size)
        print(f"made {round(args.images / 0.8)} images of {args.size} px in "
              f"{time.perf_counter() - start:.1f} s "
              f"({sum(p.stat().st_size for p in Path(root).rglob('*')) / 2**20:.1f} MiB)")
        for phase in ("first (decode + write cache)", "cached"):
            out = subprocess.run([sys.executable, "-c", CHILD, root, str(args.size)],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            print(f"{phase:30s} {r['seconds']:.3f} s ({r['touched']:.3f} s with every byte "
                  f"read)  {r['n']} images {r['shape']}  peak RSS {r['peak_rss_mib']:.0f} MiB "
                  f"(after importing torch: {r['base_rss_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
