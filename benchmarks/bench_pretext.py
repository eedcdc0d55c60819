"""Stage 00 benchmark: self-supervised pretraining of one category, per pretext task.

    python benchmarks/bench_pretext.py [--category synth_fabric] [--tasks synthesis rotation]
                                       [--profile synthetic] [--epochs N]

Trains each task with the profile's settings (or --epochs) on the built-in synthetic data
in a scratch folder, the way 00_pretext does (one thread, as the workflow's jobs), and
prints seconds per epoch, pool images per second, the whole run's time and the
representation it reached (linear-probe and 5-NN test AUROC, against untrained).
"""

import argparse
import json
import tempfile
import time

from asal.config.layout import PROVENANCE_JSON, pretext_dir
from asal.config.profiles import resolve
from asal.data.synthetic import ensure_synthetic
from asal.models.pretext import PretextSettings
from asal.runtime import device_name, pick_device
from asal.stages.pretext import run_pretext


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--category", default="synth_fabric")
    parser.add_argument("--tasks", nargs="+", default=["synthesis", "rotation"])
    parser.add_argument("--profile", default="synthetic")
    parser.add_argument("--epochs", type=int, help="instead of the profile's epochs")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asal-bench-pretext-") as tmp:
        for task in args.tasks:
            epochs = {"synthesis_epochs": args.epochs, "rotation_epochs": args.epochs} \
                if args.epochs else {}
            cfg = resolve(args.profile, category=args.category, pretext_task=task,
                          data_root=f"{tmp}/data", runs_root=f"{tmp}/runs",
                          cpu_threads=args.threads, **epochs)
            ensure_synthetic(cfg.data_root, cfg.category)      # not timed
            s = PretextSettings.of(cfg)
            start = time.perf_counter()
            m = run_pretext(cfg, progress=False)
            total = time.perf_counter() - start
            trained = json.loads((pretext_dir(cfg) / PROVENANCE_JSON).read_text())
            m["train_seconds"] = trained["train_seconds"]
            copies = 4 if task == "rotation" else 1
            print(f"{device_name(pick_device(cfg.device))}; {args.category}, {task}: "
                  f"{s.epochs} epochs of {m['train_images']} images in {m['train_seconds']:.1f} s "
                  f"({m['train_seconds'] / s.epochs:.2f} s/epoch, "
                  f"{m['train_images'] * copies * s.epochs / m['train_seconds']:.0f} images/s); "
                  f"stage total {total:.1f} s; linear probe {m['linear_probe_auroc']:.3f} "
                  f"(untrained {m['scratch_linear_probe_auroc']:.3f}), 5-NN "
                  f"{m['knn_auroc']:.3f} (untrained {m['scratch_knn_auroc']:.3f})")


if __name__ == "__main__":
    main()
