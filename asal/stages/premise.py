"""The premise of ASAL, read off a ranking alone: does its initial set hold defects where a
random one would not?

A ranking folder holds, per category, the batch files batch0.txt .. batch{K-1}.txt (highest
anomaly score first, one image path per line), as the paper published them
(`loss_batch/anomaly_scores_draem/<category>/`) or as 02_split_batches writes them
(`runs/<exp>/<category>/batches/`). An image's label is the `good` or `anomaly` folder in
its path, so no image is needed. Per category this gives the defects in ASAL's initial set
(the first `per_batch` of every batch), what a random set of the same size holds on
average (hypergeometric), the probability that a random set holds no defect at all, and
the share of defects in every batch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from scipy.stats import hypergeom

from asal.errors import AsalError
from asal.project import PROJECT_ROOT

# The table for the authors' published MVTec AD rankings, committed as data (python -m asal
# premise <their loss_batch/anomaly_scores_draem> --out ...); README names the source.
PUBLISHED_TABLE = PROJECT_ROOT / "figures" / "published_rankings" / "premise.csv"
LABELS = {"good": 0, "anomaly": 1}
BATCH_FILE = re.compile(r"batch(\d+)\.txt")


def label_of(line: str) -> int | None:
    """1 for a path with an `anomaly` folder, 0 for `good`, None when it names neither."""
    folders = Path(line.strip()).parts[:-1]
    found = [LABELS[p] for p in folders if p in LABELS]
    return found[-1] if found else None


def read_ranking(folder) -> list[list[str]]:
    """batch0.txt .. batch{K-1}.txt of one category, as lists of lines (file names may hold
    spaces, so lines are read whole; batch.txt, the whole pool, is not needed)."""
    folder = Path(folder)
    files = {int(m.group(1)): p for p in folder.iterdir() if (m := BATCH_FILE.fullmatch(p.name))}
    if sorted(files) != list(range(len(files))) or not files:
        raise AsalError(f"The batch files in {folder} are not numbered 0..K-1 without gaps "
                        f"({sorted(files)}); restore the missing ones.")
    return [[line.strip() for line in files[b].read_text().splitlines() if line.strip()]
            for b in range(len(files))]


def category_folders(root) -> dict[str, Path]:
    """Every folder below `root` (itself included) that holds batch0.txt, by category name:
    the folder's name, or the category's for this project's `<category>/batches/seed<d>/`
    (the lowest DRAEM seed's, when there are several)."""
    root = Path(root)
    if not root.is_dir():
        raise AsalError(f"Ranking folder {root} does not exist; give a folder of "
                        "<category>/batch0.txt .. files.")
    found = {}
    for first in sorted(root.rglob("batch0.txt"), key=_lowest_seed_first):
        folder = first.parent
        if re.fullmatch(r"seed\d+", folder.name) and folder.parent.name == "batches":
            name = folder.parent.parent.name          # runs/<exp>/<cat>/batches/seed<d>/
        else:
            name = folder.parent.name if folder.name == "batches" else folder.name
        found.setdefault(name, folder)
    if not found:
        raise AsalError(f"No batch0.txt below {root}; give a folder of <category>/batch0.txt "
                        ".. files, such as the paper's loss_batch/anomaly_scores_draem.")
    return found


def _lowest_seed_first(path: Path):
    m = re.fullmatch(r"seed(\d+)", path.parent.name)
    return (str(path.parent.parent), int(m.group(1)) if m else -1, str(path))


def category_premise(batches: list[list[str]], per_batch: int = 2, where: str = "") -> dict:
    """The premise numbers of one category's ranking (see the module's docstring)."""
    labels = [[label_of(line) for line in batch] for batch in batches]
    unlabeled = [line for batch, labs in zip(batches, labels)
                 for line, lab in zip(batch, labs) if lab is None]
    if unlabeled:
        raise AsalError(f"{len(unlabeled)} paths in the ranking {where} carry no label (first: "
                        f"'{unlabeled[0]}'); the premise reads each image's label from a "
                        "good/ or anomaly/ folder in its path.")
    short = [b for b, batch in enumerate(batches) if len(batch) < per_batch]
    if short:
        raise AsalError(f"Batch {short[0]} of {where} holds {len(batches[short[0]])} images, "
                        f"fewer than per_batch={per_batch}.")
    pool = sum(map(len, labels))
    defects = sum(map(sum, labels))
    n_init = per_batch * len(batches)
    row = {"pool": pool, "defects": defects, "batches": len(batches), "initial_set": n_init,
           "asal_initial_defects": sum(sum(labs[:per_batch]) for labs in labels),
           "random_expected_defects": n_init * defects / pool,      # hypergeometric mean
           "random_p_no_defect": hypergeom.pmf(0, pool, defects, n_init)}
    for b, labs in enumerate(labels):
        row[f"batch{b}_defect_share"] = sum(labs) / len(labs)
    return row


def premise_table(root, per_batch: int = 2, skip_unlabeled: bool = False) -> pd.DataFrame:
    """One row per category of a ranking folder, sorted by name.

    With skip_unlabeled, a category whose paths carry no label at all (an unlabeled pool,
    train/unlabeled/) is left out rather than refused; attrs["left_out"] names them.
    """
    rows, left_out = [], []
    for name, folder in category_folders(root).items():
        ranking = read_ranking(folder)
        if skip_unlabeled and all(label_of(p) is None for batch in ranking for p in batch):
            left_out.append(name)
            continue
        rows.append({"category": name, **category_premise(ranking, per_batch, str(folder))})
    table = pd.DataFrame(rows, columns=["category"] if not rows else None)
    table = table.sort_values("category", ignore_index=True)
    table.attrs["left_out"] = left_out
    return table
