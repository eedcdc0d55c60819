"""Where 03's labels come from, and what it asks a person for (oracle: file).

`oracle: folders` reads an image's label from its folder (a simulation); `oracle: file`
reads labels.csv. The images a cycle needs and has no label for go to to_label.csv in
the run folder, with one sentence on the terminal; the run stops there and continues when
it is run again. A finished run lists what to label next in next_to_label.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from asal.config.layout import labels_path
from asal.data.labels import TO_LABEL_CSV, read_labels, write_to_label
from asal.errors import AsalError
from asal.io import write_csv
from asal.stages.label_studio_note import project_note
from asal.order import blind_order
from asal.progress import say
from asal.stages.active_learning.stopping import stop_words

if TYPE_CHECKING:
    from asal.config.schema import Params
    from asal.data.images import Split

NEXT_TO_LABEL = "next_to_label.csv"


def known_labels(cfg: Params, pool: Split) -> dict[str, int]:
    """The labels the loop may use, by pool key: every one (folders) or labels.csv's."""
    if cfg.oracle == "folders":
        if not pool.labeled:
            raise AsalError(f"The pool of {cfg.category} is unlabeled (train/unlabeled/), so "
                            "its labels cannot come from folders; run with -p oracle file "
                            "and give them in notebooks/05_label.ipynb or labels.csv.")
        return dict(zip(pool.keys(), pool.labels.tolist()))
    return read_labels(labels_path(cfg), pool.keys(), cfg.data_root)


def ask_for_labels(cfg: Params, out: Path, waiting: list[str], cycle: int,
                   ranking: pd.DataFrame | None, p_defect: dict[str, float],
                   last_cycle: dict | None) -> None:
    """Write to_label.csv and say what to do, or remove a stale one once it is answered.
    The sentence names the Label Studio project the run was pushed to, if any, and says
    what the stopping rule says after the last cycle."""
    if not waiting:
        (out / TO_LABEL_CSV).unlink(missing_ok=True)
        return
    write_to_label(out, waiting, ranking, p_defect)
    n = len(waiting)
    what = "the initial set" if cycle == 0 else f"cycle {cycle}"
    project = project_note(out)
    tool = (f", or in {project} after `asal label-studio push {out}`, then `asal "
            f"label-studio pull {out}`" if project else "")
    rule = f" The stopping rule after cycle {cycle - 1}: {stop_words(last_cycle)}." \
        if last_cycle else ""
    say(f"{n} image{'s' * (n > 1)} need{'s' * (n == 1)} a label before {what} of "
        f"{cfg.category} ({cfg.init}, seed {cfg.seed}): they are listed in "
        f"{out / TO_LABEL_CSV}; label them in notebooks/05_label.ipynb (with profile "
        f"{cfg.profile}, category {cfg.category}, init {cfg.init}, query {cfg.query}, seed "
        f"{cfg.seed}) or add rows path,label with good or defect to {labels_path(cfg)}"
        f"{tool}, then run this again.{rule}")


def write_next_to_label(cfg: Params, out: Path, keys: list[str], prob,
                        ranking: pd.DataFrame) -> None:
    """The unlabeled rest of the pool, least confident first: what to label next.

    `prob` holds the finished classifier's class probabilities of `keys`; the anomaly
    score and rank stand beside them. More labels: raise `cycles` and run 03 again; it
    continues from its checkpoint and asks only for the new ones.
    """
    frame = pd.DataFrame({"path": keys, "p_defect": prob[:, 1].numpy(),
                          "confidence": prob.max(dim=1).values.numpy()})
    frame = frame.iloc[blind_order(frame.confidence, keys, cfg.seed, descending=False)]
    write_csv(out / NEXT_TO_LABEL, frame.merge(ranking, on="path", how="left"))


def say_finished(out: Path, unlabeled: int) -> None:
    """The sentence of a finished run of oracle file, on every run of it."""
    say(f"Finished: the classifier is in {out / 'model.pt'}; the {unlabeled} images it has "
        f"no label for, least confident first (what to label next), are in "
        f"{out / NEXT_TO_LABEL}.")
