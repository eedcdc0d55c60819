"""One run of ELPV's cold-start recipe to 200 labels, on one core: its seconds.

    python benchmarks/bench_long_run.py [--category elpv_mono] [--init asal]

params/elpv_coldstart.yaml's run (the default scorer's ranking, the evidence head on the
frozen body's features, queries growing by a tenth of the labeled set, 31 cycles from 10
to 200 labels) on the ELPV category, prepared under data/ when it is not there yet
(`pip install -e ".[elpv]"`). The scorer and the body's features are computed first and
not timed (they are the scores and batches jobs', shared by every init and query of a
seed); the timed part is the loop: the 31 fits, queries and test evaluations, and its
files. Target: at most 60 s on one core.
"""

import argparse
import tempfile
import time
from pathlib import Path

from asal.config.profiles import resolve
from asal.data.elpv import prepare_elpv
from asal.project import PROJECT_ROOT
from asal.runtime import device_name, pick_device
from asal.stages.active_learning.loop import Loop
from asal.stages.batches import make_batches
from asal.stages.scores import run_scores


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--category", default="elpv_mono")
    parser.add_argument("--init", default="asal")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = PROJECT_ROOT / "data"
    if not (data / args.category / "manifest.csv").exists():
        ratio = {"10pct": 0.1, "5pct": 0.05}.get(args.category.rsplit("_", 1)[-1])
        prepare_elpv(data, defect_ratio=ratio)
    print(f"device: {device_name(pick_device('cpu'))}, 1 thread")
    with tempfile.TemporaryDirectory() as runs:
        cfg = resolve("elpv_coldstart", category=args.category, init=args.init,
                      seed=args.seed, data_root=str(data), runs_root=runs, device="cpu",
                      cpu_threads=1)
        run_scores(cfg, progress=False)
        make_batches(cfg)
        loop = Loop(cfg, progress=False)
        loop.learner                 # the frozen body's features, computed once per seed
        start = time.perf_counter()
        result = loop.run()
        seconds = time.perf_counter() - start
    last = result.cycles.iloc[-1]
    print(f"{args.category}, init {args.init}, seed {args.seed}: {len(result.cycles)} cycles "
          f"to {last.n_labels:.0f} labels in {seconds:.1f} s ({seconds / len(result.cycles):.2f} "
          f"s a cycle); test AUROC {result.cycles.auroc.iloc[0]:.3f} at 10 labels, "
          f"{last.auroc:.3f} at {last.n_labels:.0f}")


if __name__ == "__main__":
    main()
