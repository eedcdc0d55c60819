"""The files of a person's labels: labels.csv (given) and to_label.csv (asked for).

labels.csv (runs/<exp>/<cat>/labels.csv unless `labels_csv` names another file) has the
columns `path` (the pool key, as in batch*.txt and labeled.txt)
and `label` (`good` or `defect`; `anomaly`, the folder's word and the old spelling, is
read as `defect`). The images the loop needs and has no label for are
written to to_label.csv (column `path`, with the classifier's p_defect and the anomaly
score and rank as a help) in the run folder; the loop stops there and continues from that point when it is run again.

labels.csv is the interface: notebooks/05_label.ipynb writes it, and so may a spreadsheet
or another labeling tool. Every write replaces the file whole under a lock, so a person
labeling while a run reads it, or two labelers at once, never see or leave half a file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from asal.data.csvfile import read_rows
from asal.data.folders import CLASSES, expected_key_form, key_in_pool
from asal.errors import AsalError
from asal.io import exclusive, write_csv
from asal.style import CLASS_WORDS

TO_LABEL_CSV = "to_label.csv"
# good 0, defect 1: the words labels.csv is written with; a pool's folders say anomaly
LABEL_OF = {**{name: index for index, name in enumerate(CLASSES)},
            **{word: index for index, word in CLASS_WORDS.items()}}


def read_labels(path, pool_keys, data_root="data") -> dict[str, int]:
    """The labels of labels.csv by pool key, in the file's order; every row checked.

    A row naming no image of the pool, a label other than good/defect, or a second row
    giving an image the other label stops with the row's line number; repeating a row
    with the same label is harmless. An absent or empty file holds no labels.
    """
    path, pool = Path(path), set(pool_keys)
    if not path.exists() or path.stat().st_size == 0:
        return {}
    labels, line_of = {}, {}
    for n, row in read_rows(path, ("path", "label")):
        where = f"Line {n} of {path}"
        key = key_in_pool(row["path"], data_root, pool)
        if key is None:
            raise AsalError(f"{where} names '{row['path']}', which is not an image of this "
                            f"pool; a path is {expected_key_form(pool)}: correct it or "
                            "delete the line.")
        label = row["label"].lower()
        if label not in LABEL_OF:
            raise AsalError(f"{where} gives '{key}' the label '{row['label']}'; a label is "
                            "good or defect.")
        if key in labels and labels[key] != LABEL_OF[label]:
            raise AsalError(f"{where} labels '{key}' {label}, and line {line_of[key]} "
                            f"labels it {CLASS_WORDS[labels[key]]}; delete the wrong line.")
        labels.setdefault(key, LABEL_OF[label])
        line_of.setdefault(key, n)
    return labels


def write_labels(path, labels: dict[str, int]):
    """labels.csv, whole, in the order of the dict (the order the labels were given)."""
    write_csv(path, pd.DataFrame({"path": list(labels),
                                  "label": [CLASS_WORDS[v] for v in labels.values()]}))


def set_labels(path, given: dict[str, int], pool_keys, data_root="data") -> dict[str, int]:
    """Add or change labels in labels.csv, under its lock; returns every label it holds.

    The file is read again inside the lock, so labels another process wrote meanwhile
    are kept.
    """
    with exclusive(path, f"writing {path}"):
        labels = read_labels(path, pool_keys, data_root)
        labels.update(given)
        write_labels(path, labels)
    return labels


def write_to_label(folder: Path, keys: list[str], ranking: pd.DataFrame,
                   p_defect: dict[str, float] | None = None):
    """to_label.csv: the images asked for, in order, with the current classifier's p_defect
    (empty before the first cycle: there is no classifier yet) and their anomaly score and
    rank (1 = most anomalous)."""
    frame = pd.DataFrame({"path": keys, "p_defect": [(p_defect or {}).get(k) for k in keys]})
    write_csv(folder / TO_LABEL_CSV, frame.merge(ranking, on="path", how="left"))


def read_to_label(folder: Path) -> list[str]:
    """The pool keys to_label.csv asks for; none when there is no such file."""
    path = Path(folder) / TO_LABEL_CSV
    if not path.exists():
        return []
    return pd.read_csv(path, dtype=str, keep_default_na=False)["path"].tolist()
