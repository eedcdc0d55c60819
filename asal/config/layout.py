"""The one owner of every path under runs/<exp>/ and figures/<exp>/.

    runs/<exp>/profile.yaml                     what the workflow's jobs ran with
    runs/<exp>/.workflow.json                   which workflow runs over runs/<exp>/ now
    runs/<exp>/<cat>/pretext/<task>/seed<p>/    stage 00 (p: pretext_seed)
    runs/<exp>/<cat>/scores/<scorer>/<train_on>/seed<d>/   stage 01 (d: scorer_seed)
    runs/<exp>/<cat>/batches/<scorer>/seed<d>/  stage 02, from scores/<scorer>/mixed/seed<d>/
    runs/<exp>/<cat>/al/<init>/<query>/seed<s>/ stage 03 (s: seed)
    runs/<exp>/<cat>/ceiling/seed<s>/           03's network trained on every pool label
    runs/<exp>/<cat>/labels.csv                 a person's labels (oracle: file)
    runs/<exp>/notebooks/<stage>/<name>.ipynb   the workflow's executed notebooks
    figures/<exp>/                              stage 04

Each seed is in the path of what it seeds, so no seeded output overwrites another. The
methods take plain values, so the Snakefile builds its patterns with them
(`layout.al("{cat}", "{init}", "{query}", "{seed}")`); the functions below take a run's
parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from asal.config.schema import Params

LABELS_CSV = "labels.csv"
PROFILE = "profile.yaml"
WORKFLOW_HOLDER = ".workflow.json"
CONFIG_JSON = "config.json"          # the parameters of a stage's result
PROVENANCE_JSON = "provenance.json"  # what ran it and what it cost: kept out of git
METRICS_JSON = "metrics.json"        # stages 00 and 01: what the result measured
BACKBONE = "backbone.pt"             # stage 00: what `pretrained: self_supervised` loads
ROTATION_SCORES = "rotation_scores.csv"   # stage 00, rotation: PT4AL's ranking
SCORES_CSV = "scores.csv"            # stage 01: the pool's anomaly scores
TEST_SCORES_CSV = "test_scores.csv"  # stage 01: the test split's
METRICS_CYCLE = "metrics_cycle.csv"  # stage 03
MODEL = "model.pt"                   # stage 01's scorer; 03's and the ceiling's classifier
SCORER_SPREAD = "scorer_seed_spread.csv"
PRETEXT_SPREAD = "pretext_seed_spread.csv"


@dataclass(frozen=True)
class RunLayout:
    """The folders of one experiment: runs_root/exp and figures_root/exp."""

    runs: Path
    figures: Path | None = None

    @classmethod
    def of(cls, cfg: Params) -> RunLayout:
        return cls(Path(cfg.runs_root) / cfg.exp, Path(cfg.figures_root) / cfg.exp)

    def category(self, cat) -> Path:
        return self.runs / str(cat)

    def pretext(self, cat, task, pretext_seed) -> Path:
        return self.category(cat) / "pretext" / str(task) / f"seed{pretext_seed}"

    def scores(self, cat, scorer, train_on, scorer_seed) -> Path:
        return self.category(cat) / "scores" / str(scorer) / str(train_on) / \
            f"seed{scorer_seed}"

    def batches(self, cat, scorer, scorer_seed) -> Path:
        return self.category(cat) / "batches" / str(scorer) / f"seed{scorer_seed}"

    def al(self, cat, init, query, seed) -> Path:
        return self.category(cat) / "al" / str(init) / str(query) / f"seed{seed}"

    def ceiling(self, cat, seed) -> Path:
        return self.category(cat) / "ceiling" / f"seed{seed}"

    def labels_csv(self, cat) -> Path:
        return self.category(cat) / LABELS_CSV

    def notebook(self, stage: str, name: str | None = None) -> Path:
        """An executed notebook: notebooks/<stage>/<name>.ipynb, or <stage>.ipynb alone."""
        return self.runs / "notebooks" / (f"{stage}/{name}.ipynb" if name else f"{stage}.ipynb")

    @property
    def profile(self) -> Path:
        return self.runs / PROFILE

    @property
    def workflow_holder(self) -> Path:
        return self.runs / WORKFLOW_HOLDER

    @property
    def scorer_spread(self) -> Path:
        return self.runs / SCORER_SPREAD

    @property
    def pretext_spread(self) -> Path:
        return self.runs / PRETEXT_SPREAD

    # ----------------------------------------------------------- what a folder holds
    def al_runs(self, query: str = "*") -> Iterator[tuple[str, str, str, int, Path]]:
        """(category, init, query, seed, folder) of every active-learning run (with one
        query, or any), sorted."""
        for folder in sorted(self.runs.glob(f"*/al/*/{query}/seed*")):
            if (m := re.fullmatch(r"seed(\d+)", folder.name)) and folder.is_dir():
                yield (folder.parts[-5], folder.parts[-3], folder.parts[-2], int(m.group(1)),
                       folder)

    def pretext_runs(self) -> Iterator[tuple[str, str, int, Path]]:
        """(category, task, pretext_seed, folder) of every pretext network, sorted."""
        for folder in sorted(self.runs.glob("*/pretext/*/seed*")):
            if (m := re.fullmatch(r"seed(\d+)", folder.name)) and folder.is_dir():
                yield folder.parts[-4], folder.parts[-2], int(m.group(1)), folder

    def ranking_folders(self, scorer: str) -> dict[str, Path]:
        """The batches of `scorer` each category's runs use, by category (its lowest scorer
        seed)."""
        found = {}
        for folder in sorted(self.runs.glob(f"*/batches/{scorer}/seed*"), key=_seed_order):
            found.setdefault(folder.parts[-4], folder)
        return found


def _seed_order(folder: Path):
    m = re.fullmatch(r"seed(\d+)", folder.name)
    return (folder.parts[-4], int(m.group(1)) if m else -1)


# ------------------------------------------------------------- a run's own folders

def _need_category(cfg: Params) -> str:
    if not cfg.category:
        from asal.errors import AsalError
        raise AsalError("This step works on one category; pass -p category <name>.")
    return cfg.category


def pretext_dir(cfg: Params, task: str | None = None) -> Path:
    return RunLayout.of(cfg).pretext(_need_category(cfg), task or cfg.pretext_task,
                                     cfg.pretext_seed)


def scores_dir(cfg: Params, train_on: str | None = None, scorer: str | None = None) -> Path:
    """The folder of the run's scorer (or another one) on its train_on (or another)."""
    return RunLayout.of(cfg).scores(_need_category(cfg), scorer or cfg.scorer,
                                    train_on or cfg.train_on, cfg.scorer_seed)


def batches_dir(cfg: Params, scorer: str | None = None) -> Path:
    """The batches 02 writes from the scores of the run's scorer (or another one)."""
    return RunLayout.of(cfg).batches(_need_category(cfg), scorer or cfg.scorer,
                                     cfg.scorer_seed)


def ranking_scorer(cfg: Params) -> Path | None:
    """The scores folder of the scorer that ranked the pool 03 reads, if its model.pt is on
    disk; None where the ranking came from elsewhere (batches_dir)."""
    folder = scores_dir(cfg, "mixed")
    if cfg.batches_dir is not None or not (folder / MODEL).is_file():
        return None
    return folder


def source_batches(cfg: Params) -> Path:
    """The batches 03 reads: the given batches_dir, else 02's."""
    return Path(cfg.batches_dir) if cfg.batches_dir else batches_dir(cfg)


def al_dir(cfg: Params) -> Path:
    return RunLayout.of(cfg).al(_need_category(cfg), cfg.init, cfg.query, cfg.seed)


def ceiling_dir(cfg: Params) -> Path:
    return RunLayout.of(cfg).ceiling(_need_category(cfg), cfg.seed)


def labels_path(cfg: Params) -> Path:
    return Path(cfg.labels_csv) if cfg.labels_csv else \
        RunLayout.of(cfg).labels_csv(_need_category(cfg))


def figures_dir(cfg: Params) -> Path:
    return RunLayout.of(cfg).figures


def shown_in_runs(cfg: Params, path) -> str:
    """A path under the runs root as a person reads it, runs/<exp>/...; any other path as
    asal.project.shown gives it. A stored notebook then names no machine's folder, the
    scratch folder of the tests or of a refresh included."""
    from asal.project import shown

    root = Path(cfg.runs_root)
    try:
        return (Path(root.name) / Path(path).relative_to(root)).as_posix()
    except ValueError:
        return shown(path)
