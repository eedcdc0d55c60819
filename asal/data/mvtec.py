"""MVTec AD preparation: merge the official train and test sets, split 0.8 / 0.2.

The official tree is <src>/<category>/train/good/*.png, <src>/<category>/test/<defect>/*.png
(defect "good" included) and <src>/<category>/ground_truth/<defect>/<name>_mask.png.
As in the paper, every image of a category goes into one set that is split, stratified by
good / anomaly, into train (the unlabeled pool) and test. New names follow the paper's
published rankings: good_<category>_<index>.png (index over all good images, so train and
test 000.png never collide) and anomaly_<category>_<defect>_<index>.png.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm import tqdm

from asal.categories import MVTEC_CATEGORIES
from asal.data.folders import MVTEC_URL, assign_split
from asal.data.prepared import MANIFEST, already_prepared, copy_into
from asal.errors import AsalError
from asal.io import exclusive, staged_dir, write_csv

MANIFEST_COLUMNS = ["source", "path", "label", "defect", "split", "mask_source", "mask"]


def collect_sources(src: Path, category: str) -> pd.DataFrame:
    """Every image of one official MVTec category, with its label, defect and mask."""
    root = src / category
    if not root.is_dir():
        raise AsalError(f"MVTec category folder {root} is missing; download MVTec AD from "
                        f"{MVTEC_URL} and pass the folder that holds the category folders.")
    rows = []
    for split in ("train", "test"):
        for defect_dir in sorted(p for p in (root / split).glob("*") if p.is_dir()):
            defect = defect_dir.name
            for image in sorted(defect_dir.glob("*.png")):
                mask = root / "ground_truth" / defect / f"{image.stem}_mask.png"
                if defect != "good" and not mask.exists():
                    raise AsalError(f"Mask {mask} for {image} is missing; the MVTec AD copy "
                                    "is incomplete, download it again.")
                rows.append({"source": image.relative_to(src).as_posix(),
                             "label": int(defect != "good"), "defect": defect,
                             "mask_source": mask.relative_to(src).as_posix()
                             if defect != "good" else ""})
    frame = pd.DataFrame(rows, columns=["source", "label", "defect", "mask_source"])
    if frame.empty or frame.label.nunique() < 2:
        raise AsalError(f"{root} must hold good and defective images in the official MVTec "
                        "layout (train/good, test/<defect>, ground_truth/<defect>).")
    return frame


def plan_split(frame: pd.DataFrame, category: str, seed: int,
               test_fraction: float) -> pd.DataFrame:
    """Assign new names and a stratified train/test split to every source image."""
    frame = frame.copy()
    good = frame.label == 0
    frame.loc[good, "name"] = [f"good_{category}_{i:03d}.png" for i in range(good.sum())]
    frame.loc[~good, "name"] = [f"anomaly_{category}_{d}_{Path(s).stem}.png"
                                for d, s in zip(frame.defect[~good], frame.source[~good])]
    assert frame.name.is_unique, "new MVTec file names collide"
    frame = assign_split(frame, category, seed, test_fraction, frame.mask_source != "")
    return frame[MANIFEST_COLUMNS].sort_values("path").reset_index(drop=True)


def prepare_category(src: Path, dest: Path, category: str, seed: int = 0,
                     test_fraction: float = 0.2, force: bool = False,
                     progress: bool = True) -> pd.DataFrame:
    """Write one prepared category to dest/<category>; return its manifest."""
    planned = plan_split(collect_sources(src, category), category, seed, test_fraction)
    target = dest / category
    copies = [(rel, source) for row in planned.itertuples()
              for rel, source in ((row.path, row.source), (row.mask, row.mask_source)) if rel]
    with exclusive(target, f"preparing {target}"):
        if already_prepared(src, target, planned, copies):
            return planned
        if target.exists() and not force:
            raise AsalError(f"{target} already holds a different split (other seed, "
                            "fraction or source); choose another --dest or pass --force to "
                            "replace it.")
        # Build beside the target and swap it in whole: an interruption leaves nothing half.
        with staged_dir(target) as staging:
            copy_into(staging, src, tqdm(copies, desc=category, disable=not progress,
                                         unit="file"))
            write_csv(staging / MANIFEST, planned)
    return planned


def prepare_mvtec(src, dest="data", categories=None, seed: int = 0,
                  test_fraction: float = 0.2, force: bool = False,
                  progress: bool = True) -> dict[str, pd.DataFrame]:
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise AsalError(f"MVTec AD folder {src} does not exist; download MVTec AD from "
                        f"{MVTEC_URL} and unpack it there.")
    if not 0 < test_fraction < 1:
        raise AsalError(f"--test-fraction must lie between 0 and 1, not {test_fraction}.")
    if categories is None:
        categories = [c for c in MVTEC_CATEGORIES if (src / c).is_dir()]
        if not categories:
            raise AsalError(f"{src} holds none of the 15 MVTec AD category folders; pass the "
                            "folder that contains bottle/, cable/, ...")
    dest.mkdir(parents=True, exist_ok=True)
    return {c: prepare_category(src, dest, c, seed, test_fraction, force, progress)
            for c in categories}
