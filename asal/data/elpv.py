"""ELPV, real defect images: solar cells in electroluminescence, from the `elpv-dataset`
package (Buerhop-Lutz et al. 2018; Deitsch et al., Solar Energy 2019; CC BY-NC-SA 4.0).

2,624 grayscale 300 x 300 cells, 1,074 monocrystalline and 1,550 polycrystalline, each
with an expert's defect probability of 0, 1/3, 2/3 or 1. `prepare_elpv` writes them in the
ASAL layout, one category per cell type:

- **Binarisation**: a cell is defective when its probability is at least 1/2, so 2/3 and
  1 are defects and 0 and 1/3 are good; every image is kept. 1/3 means the expert leaned
  to "not defective" and 2/3 to "defective": the majority call, and no image removed, so
  the classes keep the line's ambiguity. The manifest keeps each image's probability, for
  any other rule.
- **Split**: 0.8 / 0.2, stratified by the binary label and seeded, as for MVTec AD.
- **Defect ratio**: `defect_ratio` keeps every good cell and a seeded sample of the
  defective ones, so that defects are that share of the category (an inspection line's
  imbalance); the category is then named with it (`elpv_mono_10pct`). The default keeps
  the natural share (34 % mono, 29 % poly).
- **Size**: `limit` keeps a seeded, stratified sample of that many images per category.

File names stay the package's (`cellNNNN.png`): they say nothing of the label.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from asal.data.folders import assign_split
from asal.data.prepared import MANIFEST, already_prepared, copy_into
from asal.errors import AsalError
from asal.io import exclusive, staged_dir, write_csv

TYPES = {"elpv_mono": "mono", "elpv_poly": "poly"}
DEFECT_THRESHOLD = 0.5
MANIFEST_COLUMNS = ["source", "path", "label", "probability", "split"]
INSTALL = 'pip install -e ".[elpv]"'


def package_data() -> Path:
    """The installed package's data folder (labels.csv and images/)."""
    try:
        import elpv_dataset
    except ImportError:
        raise AsalError(f"The ELPV images come from the elpv-dataset package, which is not "
                        f"installed; run `{INSTALL}` (or pip install elpv-dataset).") from None
    return Path(elpv_dataset.__file__).parent / "data"


def read_package_labels(data: Path) -> pd.DataFrame:
    """source (images/cellNNNN.png), probability and type of every cell of the package."""
    frame = pd.read_csv(data / "labels.csv", sep=r"\s+", header=None,
                        names=["source", "probability", "type"])
    frame["label"] = (frame.probability >= DEFECT_THRESHOLD).astype(int)
    return frame


def category_name(base: str, defect_ratio: float | None) -> str:
    return base if defect_ratio is None else f"{base}_{round(100 * defect_ratio)}pct"


def parse_category(name: str) -> tuple[str, float | None] | None:
    """(cell type's category, defect ratio) of an ELPV category name; None for others."""
    m = re.fullmatch(r"(elpv_mono|elpv_poly)(?:_(\d+)pct)?", name)
    if m is None:
        return None
    return m.group(1), int(m.group(2)) / 100 if m.group(2) else None


def subsample(frame: pd.DataFrame, defect_ratio: float | None, limit: int | None,
              seed: int, where: str) -> pd.DataFrame:
    """Seeded subsets: defects down to `defect_ratio` of the whole, then `limit` images."""
    rng = np.random.default_rng(seed)
    natural = frame.label.mean()
    if defect_ratio is not None:
        if not 0 < defect_ratio <= natural:
            raise AsalError(f"--defect-ratio {defect_ratio} is outside (0, {natural:.3f}]: "
                            f"{where} holds {natural:.1%} defects, and subsampling can only "
                            "lower that share; give a ratio in that range.")
        good, bad = frame[frame.label == 0], frame[frame.label == 1]
        keep = int(round(defect_ratio * len(good) / (1 - defect_ratio)))
        bad = bad.iloc[np.sort(rng.choice(len(bad), size=max(keep, 1), replace=False))]
        frame = pd.concat([good, bad]).sort_index()
    if limit is not None and limit < len(frame):
        parts = [g.iloc[np.sort(rng.choice(len(g), size=round(limit * len(g) / len(frame)),
                                           replace=False))]
                 for _, g in frame.groupby("label")]
        frame = pd.concat(parts).sort_index()
    return frame


def plan_category(labels: pd.DataFrame, base: str, defect_ratio: float | None,
                  limit: int | None, seed: int, test_fraction: float) -> pd.DataFrame:
    """The manifest of one category: every kept cell's source, ASAL path, label, split."""
    frame = labels[labels.type == TYPES[base]].reset_index(drop=True)
    frame = subsample(frame, defect_ratio, limit, seed, f"ELPV's {TYPES[base]} cells")
    frame = frame.assign(name=frame.source.map(lambda s: Path(s).name))
    category = category_name(base, defect_ratio)
    frame = assign_split(frame, category, seed, test_fraction, [False] * len(frame))
    return frame[MANIFEST_COLUMNS].sort_values("path").reset_index(drop=True)


def prepare_category(data: Path, dest: Path, planned: pd.DataFrame, force: bool) -> None:
    category = planned.path.iloc[0].split("/")[0]
    target = dest / category
    copies = list(zip(planned.path, planned.source))
    with exclusive(target, f"preparing {target}"):
        if already_prepared(data, target, planned, copies):
            return
        if target.exists() and any(target.iterdir()) and not force:
            raise AsalError(f"{target} already holds other images (another seed, ratio or "
                            "source); choose another --dest or pass --force to replace it.")
        with staged_dir(target) as staging:             # whole, or not at all
            copy_into(staging, data, copies)
            write_csv(staging / MANIFEST, planned)


def prepare_elpv(dest="data", categories=tuple(TYPES), defect_ratio: float | None = None,
                 limit: int | None = None, seed: int = 0, test_fraction: float = 0.2,
                 force: bool = False) -> dict[str, pd.DataFrame]:
    """Write ELPV's categories in the ASAL layout below `dest`; their manifests by name."""
    unknown = [c for c in categories if c not in TYPES]
    if unknown:
        raise AsalError(f"Unknown ELPV category '{unknown[0]}'; use {sorted(TYPES)}.")
    data = package_data()
    labels = read_package_labels(data)
    dest = Path(dest)
    out = {}
    for base in categories:
        planned = plan_category(labels, base, defect_ratio, limit, seed, test_fraction)
        prepare_category(data, dest, planned, force)
        out[category_name(base, defect_ratio)] = planned
    return out
