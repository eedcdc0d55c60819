"""The documentation's picture of Label Studio labeling a real run (docs/label-studio.md):

    python benchmarks/labelstudio/screenshot.py docs/figures/labeling/label_studio.png

A folder of unlabeled images is made from the built-in synth_washer pool; params/own.yaml
scores and ranks it and runs 03 until it waits for the labels of its initial set (as
`asal render-labeler` does). A local Label Studio (asal/tools/label_studio_server.py,
$ASAL_LABEL_STUDIO or label-studio on PATH) gets the run through push, and a headless
Chromium, logged in as the labeler, opens the labeling stream, as a person does. The
picture shows what the person sees: the least sure image first, its heat map beside it,
the anomaly score and rank, good and defect. It stops, saying why, when the stream opens
elsewhere, the images are not shown, or the page asks for anything outside this machine.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from asal.config.layout import al_dir
from asal.data.folders import list_split
from asal.labelstudio.client import LabelStudio
from asal.labelstudio.round_trip import push
from asal.tools.label_studio_server import start, stop
from asal.tools.labeler_picture import waiting_demo_run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import screenshot  # the stdlib Chromium driver beside this script


def least_sure(cfg) -> pd.Series:
    """The asked image the stream must show first (its confidence as push computes it)."""
    asked = pd.read_csv(al_dir(cfg) / "to_label.csv")
    n_pool = len(list_split(cfg.data_root, cfg.category, "train")[0])
    p = asked.p_defect.fillna(1 - (asked["rank"] - 1) / n_pool)
    return asked.loc[(p - 0.5).abs().idxmin()]


def photograph(out: Path, scratch: Path) -> dict:
    cfg, _ = waiting_demo_run(scratch)
    server = start(scratch, scratch / "label-studio")
    try:
        pushed = push(al_dir(cfg), LabelStudio(server.url, server.token),
                      document_root_dir=scratch)
        first = least_sure(cfg)
        info = screenshot(server.url, f"/projects/{pushed.project}/data?labeling=1",
                          server.email, server.password, str(out))
    finally:
        stop(server)
    problems = [why for bad, why in (
        (not info["ready"], "the image and its heat map were not shown"),
        (f"(rank {first['rank']} of" not in info["text"],
         f"the stream did not open at the least sure image, rank {first['rank']}"),
        (bool(info["outside"]), f"the page asked outside this machine: {info['outside']}"))
        if bad]
    if problems:
        sys.exit(f"{out}: " + "; ".join(problems))
    return {"project": pushed.project, "first": first.path, "rank": int(first["rank"]),
            "seconds": info["seconds"],
            "next_task": [c for c in info["api"] if "next_task" in c[1]][:1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the PNG to write")
    args = parser.parse_args()
    start_time = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="asal-label-studio-") as tmp:
        info = photograph(args.out.resolve(), Path(tmp))
    print(f"written to {args.out} in {time.perf_counter() - start_time:.0f} s: {info}")


if __name__ == "__main__":
    main()
