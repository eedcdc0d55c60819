"""The person in the loop: rounds of labeling for about 19 labels, one image a round against
five (the top five, or the clustered five), and what the classifier reaches with them.

    python benchmarks/bench_human_loop.py --runs RUNS_ROOT [--data DATA_ROOT]
        [--profile elpv] [--categories elpv_mono elpv_poly] [--seeds 0 1 2 3 4]

It reads the batches of a built experiment (RUNS_ROOT/<exp>/<cat>/batches/seed<k>/) and
runs 03 in a scratch folder for each category, seed, initial selection (asal, random)
and query plan: 1 a round for 9 rounds (19 labels, the paper's), and 5 a round for 2
rounds (20 labels), top or clustered. A round is one stop, label and re-run for a person;
the initial set is the first round. The ELPV profile needs no pretext network, so it runs
on the committed experiment's batches once its data are prepared.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from asal.config.profiles import resolve
from asal.stages.active_learning.loop import run_active_learning

PLANS = {"1 a round": dict(query_size=1, cycles=10, query_batch="top"),
         "5 a round, top": dict(query_size=5, cycles=3, query_batch="top"),
         "5 a round, clustered": dict(query_size=5, cycles=3, query_batch="clustered")}


def run_plans(args, scratch: Path) -> pd.DataFrame:
    rows = []
    for cat in args.categories:
        for seed in args.seeds:
            for init in ("asal", "random"):
                for plan, values in PLANS.items():
                    kw = dict(category=cat, seed=seed, draem_seed=seed, pretext_seed=seed,
                              init=init, runs_root=str(scratch / plan.replace(" ", "_")),
                              budget_labels=None, **values)
                    if args.data:
                        kw["data_root"] = args.data
                    cfg = resolve(args.profile, **kw)
                    batches = Path(args.runs) / cfg.exp / cat / "batches" / f"seed{seed}"
                    target = Path(cfg.runs_root) / cfg.exp / cat / "batches" / f"seed{seed}"
                    if not target.exists():
                        shutil.copytree(batches, target)
                    start = time.perf_counter()
                    last = run_active_learning(cfg, progress=False).cycles.iloc[-1]
                    rows.append({"category": cat, "seed": seed, "init": init, "plan": plan,
                                 "rounds": cfg.cycles, "labels": int(last.n_labels),
                                 "defects": int(last.n_anomalies), "auroc": last.auroc,
                                 "balanced_accuracy": last.balanced_accuracy,
                                 "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help="the runs root holding the batches")
    parser.add_argument("--data", help="the data root (default: the profile's)")
    parser.add_argument("--profile", default="elpv")
    parser.add_argument("--categories", nargs="+", default=["elpv_mono", "elpv_poly"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asal-human-loop-") as tmp:
        frame = run_plans(args, Path(tmp))
    summary = frame.groupby(["plan", "init"]).agg(
        rounds=("rounds", "first"), labels=("labels", "first"), defects=("defects", "mean"),
        auroc_mean=("auroc", "mean"), auroc_std=("auroc", "std"),
        balanced_accuracy=("balanced_accuracy", "mean"), runs=("auroc", "size"),
        seconds=("seconds", "mean"))
    with pd.option_context("display.width", 160):
        print(summary.round(3).to_string())
    by_plan = frame.pivot_table(index=["category", "seed", "init"], columns="plan",
                                values="auroc")
    for plan in PLANS:
        if plan != "1 a round":
            diff = by_plan[plan] - by_plan["1 a round"]
            print(f"{plan} against 1 a round: test AUROC {diff.mean():+.3f} "
                  f"(std {diff.std():.3f}, {int((diff > 0).sum())} of {len(diff)} runs above)")


if __name__ == "__main__":
    main()
