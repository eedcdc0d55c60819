"""The scorers on pools, timed: pool AUROC, defects among the 10 highest scores and in
ASAL's initial set, seconds; and the default scorer on a large pool (time, peak memory).

    python benchmarks/bench_scorers.py --data data --categories elpv_mono elpv_poly \
        --seeds 0 1 2 3 4 [--scorers ensemble pixels:pixels_tail=both ...] [--threads 2]
    python benchmarks/bench_scorers.py --data data --scale 10000 --source elpv_mono

A scorer is a name of the registry, optionally with parameters that differ from the
profile's (`ensemble:ensemble_rule=rank`, `patches:patches_networks=1`). Pool labels are
read only to measure (AUROC, defects picked); no test split is read.
`--scale N` makes a pool of N images from a category's pool by repeating it with
augmentations (flips, shifts of up to 4 px, brightness x 0.85..1.15, seeded) and scores it
with the default scorer once: the seconds and the process's peak resident memory. The
table goes to standard output and, with --out, to a CSV and a Markdown file beside it.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asal.config.profiles import resolve  # noqa: E402
from asal.data.images import load_split  # noqa: E402
from asal.io import write_text  # noqa: E402
from asal.models.ranking import sort_scores, split_batches  # noqa: E402
from asal.models.scorers import Fitting  # noqa: E402
from asal.stages.scorer_files import build_scorer  # noqa: E402


def asal_defects(keys, scores, labels, per_batch=2, k=5) -> int:
    frame = split_batches(sort_scores(pd.DataFrame({"path": keys, "score": scores})), k)
    picks = frame.sort_values("rank").groupby("batch").head(per_batch).path
    truth = dict(zip(keys, labels))
    return int(sum(truth[p] for p in picks))


def variant(text: str) -> tuple[str, dict]:
    """"name:key=value,key=value" as the scorer's name and its parameters (YAML values)."""
    name, _, rest = text.partition(":")
    pairs = [p.split("=", 1) for p in rest.split(",") if p]
    return name, {k: yaml.safe_load(v) for k, v in pairs}


def one(data, category: str, scorer: str, seed: int) -> dict:
    pool = load_split(data, category, "train", 64)
    name, overrides = variant(scorer)
    cfg = resolve("elpv" if category.startswith("elpv") else "synthetic", category=category,
                  scorer=name, scorer_seed=seed, data_root=str(data), **overrides)
    start = time.perf_counter()
    fitted = build_scorer(cfg, torch.device("cpu")).fit(pool.images,
                                                         Fitting(keys=pool.keys()))
    scores = fitted.pool_scores()
    seconds = time.perf_counter() - start
    labels = pool.labels.numpy()
    top = np.argsort(-scores, kind="stable")[:10]
    return {"category": category, "scorer": scorer, "seed": seed,
            "pool_auroc": roc_auc_score(labels, scores), "top10_defects": int(labels[top].sum()),
            "asal_defects": asal_defects(pool.keys(), scores, labels), "seconds": seconds}


def table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.groupby(["scorer", "category"], sort=False).agg(
        pool_auroc_mean=("pool_auroc", "mean"), pool_auroc_sd=("pool_auroc", "std"),
        top10_defects=("top10_defects", "mean"), asal_defects=("asal_defects", "mean"),
        seconds=("seconds", "mean"), seeds=("seed", "size")).reset_index()


def augmented(images: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """n images from `images`, repeated with seeded flips, shifts and brightness."""
    gen = torch.Generator().manual_seed(seed)
    index = torch.arange(n) % len(images)
    out = images[index].clone()
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    shifts = torch.randint(-4, 5, (n, 2), generator=gen)
    gain = 0.85 + 0.3 * torch.rand(n, 1, 1, 1, generator=gen)
    for i in range(n):
        out[i] = torch.roll(out[i], tuple(shifts[i].tolist()), dims=(1, 2))
    return (out.float() * gain).clamp(0, 255).to(torch.uint8)


def scale(data, source: str, n: int) -> dict:
    pool = augmented(load_split(data, source, "train", 64).images, n)
    cfg = resolve("elpv", category=source, data_root=str(data))
    start = time.perf_counter()
    scores = build_scorer(cfg, torch.device("cpu")).fit(pool).pool_scores()
    return {"images": n, "scorer": cfg.scorer, "seconds": time.perf_counter() - start,
            "peak_memory_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
            "finite": bool(np.isfinite(scores).all())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data root of the categories")
    parser.add_argument("--categories", nargs="+", default=[])
    parser.add_argument("--scorers", nargs="+", default=[
        "ensemble", "ensemble:ensemble_rule=rank", "patches", "patches:patches_networks=1",
        "pixels", "pixels:pixels_tail=both", "features"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=2, help="torch's CPU threads")
    parser.add_argument("--scale", type=int, help="score a pool of this many images")
    parser.add_argument("--source", default="elpv_mono", help="the pool --scale repeats")
    parser.add_argument("--out", help="write the table to this CSV (and a .md beside it)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.scale:
        frame = pd.DataFrame([scale(args.data, args.source, args.scale)])
    else:
        frame = table([one(args.data, c, s, seed) for s in args.scorers
                       for c in args.categories for seed in args.seeds])
    print(frame.round(3).to_string(index=False))
    if args.out:
        caption = (f"# benchmarks/bench_scorers.py, {args.threads} threads; "
                   + " ".join(sys.argv[1:]) + "\n")
        write_text(args.out, caption + frame.to_csv(index=False, float_format="%.4f"))
        write_text(Path(args.out).with_suffix(".md"), frame.to_markdown(
            index=False, floatfmt=".3f") + "\n")


if __name__ == "__main__":
    main()
