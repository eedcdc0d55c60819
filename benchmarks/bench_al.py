"""Active-learning benchmark: seconds per cycle and the share outside forward/backward.

    python benchmarks/bench_al.py [--cycles 2] [--skip-256]

Two settings: the paper's scale (ResNet18 at 256 px, pool 300, test 75, 20 epochs per
cycle) and the synthetic profile (64 px, pool 160, test 40, its epochs per cycle). Target: at most 15 % of a
cycle outside the model's forward and backward passes.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from asal.config.profiles import resolve
from asal.data.folders import list_split, pool_key
from asal.data.synthetic import make_synthetic
from asal.runtime import device_name, pick_device
from asal.stages.active_learning.loop import Loop
from asal.stages.batches import make_batches
from asal.stages.scores import run_scores


def bench(root: Path, n_images: int, size: int, epochs: int, cycles: int, device: str):
    data, runs = root / f"data{size}", root / f"runs{size}"
    make_synthetic(data, ["synth_washer"], n_images=n_images, size=size)
    paths, labels = list_split(data, "synth_washer", "train")
    rng = np.random.default_rng(0)
    csv = root / f"scores{size}.csv"
    pd.DataFrame({"path": [pool_key(p) for p in paths],
                  "score": np.asarray(labels) + rng.normal(0, 0.5, len(paths))}).to_csv(csv)
    base = dict(category="synth_washer", data_root=str(data), runs_root=str(runs),
                image_size=size, epochs=epochs, cycles=cycles, device=device,
                cpu_threads=0,    # all cores: this measures speed, not reproducibility
                # every layer trained, as the paper does: a cycle's full cost, and no
                # pretext network to train first (stage 00 is bench_pretext.py's)
                pretrained="none", freeze_body=False, head="adam")
    run_scores(resolve(scorer="csv", scores_csv=str(csv), **base))
    make_batches(resolve(**base))
    loop = Loop(resolve(**base), progress=False)
    result = loop.run()
    t = result.timing
    per_cycle = t["seconds"] / cycles
    outside = 1 - t["model_seconds"] / t["seconds"]
    print(f"{size} px, pool {len(loop.pool)}, test {len(loop.test)}, {loop.cfg.epochs} epochs: "
          f"{per_cycle:.2f} s per cycle, {100 * outside:.1f} % outside forward/backward")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-256", action="store_true")
    args = parser.parse_args()
    print(f"device: {device_name(pick_device(args.device))}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_256:
            bench(Path(tmp), 375, 256, 20, args.cycles, args.device)
        bench(Path(tmp), 200, 64, None, args.cycles, args.device)   # the synthetic profile


if __name__ == "__main__":
    main()
