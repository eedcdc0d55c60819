"""README's "Your own images", timed: from a folder of unlabeled images to a finished run.

    python benchmarks/bench_round_trip.py [--source synth_washer] [--cores 2] [--keep DIR]
        [--query-size 5 --query-batch clustered --cycles 3]

Makes the folder a person would have: the pool of a synthetic category copied into
data/demo/train/unlabeled/ under names that do not tell the label (and its test split,
unless --no-test). Then it runs README's workflow, `snakemake ... --configfile
params/own.yaml`, as often as it stops for labels, and answers each to_label.csv from the
known labels the way a person would in notebooks/05_label.ipynb (through the same
labels.csv writes). It prints every round: how many images were asked for, how long the
workflow ran before it asked, and at the end the number of rounds and the total time
the machine took (the person's labeling time is not in it). A stop for labels is the
workflow's normal end (exit 0, to_label.csv written); a failing job is an error here. The
checkout is left alone.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asal.data.labels import read_to_label, set_labels  # noqa: E402
from asal.data.unlabeled_demo import unlabeled_copy  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="synth_washer")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--no-test", action="store_true", help="leave the test split out")
    parser.add_argument("--keep", help="keep the scratch folder here")
    parser.add_argument("--query-size", type=int, default=1, help="images a round asks for")
    parser.add_argument("--query-batch", default="top", choices=["top", "clustered"])
    parser.add_argument("--cycles", type=int, default=10, help="cycles, the first on the "
                                                               "initial set")
    args = parser.parse_args()
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="asal-round-trip-"))
    roots = {k: scratch / k for k in ("data", "runs", "figures")}
    truth = unlabeled_copy(roots["data"], args.source, "demo", with_test=not args.no_test)
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow" / "Snakefile"),
               "--cores", str(args.cores), "--quiet", "--configfile",
               str(ROOT / "params" / "own.yaml"), "--config", "categories=[demo]",
               *(f"{k}_root={v}" for k, v in roots.items()), f"query_size={args.query_size}",
               f"query_batch={args.query_batch}", f"cycles={args.cycles}"]
    run_folder = roots["runs"] / "own" / "demo" / "al" / "asal" / "least_confidence" / "seed0"
    labels_csv = roots["runs"] / "own" / "demo" / "labels.csv"
    rounds, total = [], 0.0
    while True:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        total += seconds
        asked = read_to_label(run_folder)
        if done.returncode != 0:
            sys.exit(f"the workflow failed:\n{done.stderr[-3000:]}")
        if not asked:
            print(f"finished: the workflow ran {seconds:.0f} s after the last labels")
            break
        waits = [line for line in done.stderr.splitlines() if "waits for" in line]
        rounds.append((len(asked), seconds))
        print(f"round {len(rounds)}: {len(asked)} image(s) asked for after {seconds:.0f} s; "
              f"snakemake said: {waits[0].strip() if waits else '(no message)'}")
        set_labels(labels_csv, {k: truth[k] for k in asked}, truth)
    cycles = pd.read_csv(run_folder / "metrics_cycle.csv")
    print(f"{len(rounds)} labeling rounds, {sum(n for n, _ in rounds)} labels, "
          f"{total:.0f} s of machine time in all; final test AUROC "
          f"{cycles.auroc.iloc[-1]:.3f}, {int(cycles.n_anomalies.iloc[-1])} defects among "
          f"{int(cycles.n_labels.iloc[-1])} labels")
    following = pd.read_csv(run_folder / "next_to_label.csv")
    defects = following.path.head(10).map(truth).sum()
    print(f"next_to_label.csv: {len(following)} images; {defects} defects among its first 10 "
          f"(the pool's rest holds {following.path.map(truth).sum()})")
    print(f"scratch folder: {scratch}")


if __name__ == "__main__":
    main()
