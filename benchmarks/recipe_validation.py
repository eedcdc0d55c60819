"""Choose the classifier's recipe on a validation part of each pool, never on a test split.

    python benchmarks/recipe_validation.py --data data --categories elpv_mono elpv_poly \
        --pretrained none --seeds 0 1 2

Each category's pool is split 0.75 / 0.25, stratified and seeded, into a development pool
and a validation part (links, in a scratch data root where the validation part stands in
for the test split); the real test split is never read. Every candidate recipe then runs
the loop from Random initial sets on the development pool, and the table gives the
validation AUROC at the first cycle, at 19 labels and at the last cycle, the gain, the
balanced accuracy and the labeled set's loss at each cycle's end (median and largest).
"""

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from asal.config.profiles import resolve
from asal.data.batchfiles import write_batches
from asal.data.folders import CLASSES, list_split, pool_key
from asal.models.ranking import sort_scores, split_batches
from asal.stages.active_learning.loop import run_active_learning
from sklearn.model_selection import train_test_split

CANDIDATES = {      # name -> parameters of the loop
    "adam head, 6 epochs, lr 0.01": dict(head="adam", epochs=6, lr=0.01),
    "lbfgs C=0.01": dict(head="lbfgs", head_c=0.01),
    "lbfgs C=0.1": dict(head="lbfgs", head_c=0.1),
    "lbfgs C=1": dict(head="lbfgs", head_c=1.0),
    "lbfgs C=0.1 balanced": dict(head="lbfgs", head_c=0.1, head_balanced=True),
    "lbfgs C=1 balanced": dict(head="lbfgs", head_c=1.0, head_balanced=True),
}


def validation_root(data: Path, category: str, dest: Path, seed: int = 0) -> str:
    """dest/<category>_dev: the development pool as train/, the validation part as test/
    (a name of its own: a built-in category's name would be made anew on first use)."""
    paths, labels = list_split(data, category, "train")
    dev, val = train_test_split(np.arange(len(paths)), test_size=0.25, stratify=labels,
                                random_state=seed)
    for split, idx in (("train", dev), ("test", val)):
        for i in idx:
            link = dest / f"{category}_dev" / split / CLASSES[labels[i]] / Path(paths[i]).name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(paths[i]).resolve())
    return f"{category}_dev"


def random_batches(root: Path, category: str, out: Path) -> None:
    """Batches of a random ranking: Random's initial set needs only the pool listed."""
    paths, _ = list_split(root, category, "train")
    keys = [pool_key(p) for p in paths]
    scores = np.random.default_rng(0).random(len(keys))
    write_batches(out, split_batches(sort_scores(pd.DataFrame({"path": keys, "score": scores})),
                                     5))


def summarise(cycles: pd.DataFrame, epochs: pd.DataFrame) -> dict:
    at19 = cycles[cycles.n_labels == 19]
    loss = epochs.groupby("cycle").train_loss.last()
    return {"first": cycles.auroc.iloc[0], "at_19": at19.auroc.iloc[0] if len(at19) else np.nan,
            "last": cycles.auroc.iloc[-1], "gain_to_19": (at19.auroc.iloc[0] if len(at19)
                                                            else np.nan) - cycles.auroc.iloc[0],
            "balanced_first": cycles.balanced_accuracy.iloc[0],
            "balanced_last": cycles.balanced_accuracy.iloc[-1],
            "loss_median": loss.median(), "loss_max": loss.max()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data root of the categories")
    parser.add_argument("--categories", nargs="+", required=True)
    parser.add_argument("--profile", default="synthetic")
    parser.add_argument("--pretrained", default="none",
                        help="none, or a backbone state_dict (a path with {category} in it)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cycles", type=int, default=31, help="cycles of one label each")
    parser.add_argument("--queries", nargs="+", default=["least_confidence", "random"])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="asal-recipe-") as tmp:
        root = Path(tmp) / "data"
        dev = {cat: validation_root(Path(args.data), cat, root) for cat in args.categories}
        for cat in args.categories:
            random_batches(root, dev[cat], Path(tmp) / "batches" / cat)
        for cat, name, query, seed in itertools.product(args.categories, args.candidates,
                                                        args.queries, args.seeds):
            cfg = resolve(args.profile, category=dev[cat], data_root=str(root), init="random",
                          runs_root=str(Path(tmp) / "runs" / name.replace(" ", "_")),
                          batches_dir=str(Path(tmp) / "batches" / cat), seed=seed,
                          query=query, cycles=args.cycles, image_size=args.image_size,
                          pretrained=args.pretrained.format(category=cat),
                          freeze_body=True, device="cpu", cpu_threads=1,
                          **CANDIDATES[name])
            result = run_active_learning(cfg, progress=False)
            rows.append({"category": cat, "recipe": name, "query": query, "seed": seed,
                         **summarise(result.cycles, result.epochs)})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows).groupby(["category", "recipe", "query"]).mean(numeric_only=True)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.drop(columns="seed").round(3))


if __name__ == "__main__":
    main()
