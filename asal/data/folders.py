"""The ASAL folder layout of a category, and how its images are named.

Layout (the original's): <data_root>/<category>/{train,test}/{good,anomaly}/*.png, where
`train` is the pool and `test` the held-out split; good = 0, anomaly = 1. Defect masks,
where known, lie in <split>/ground_truth/<same file name>. A pool nobody has sorted keeps
its images in <category>/train/unlabeled/ instead; their label is UNKNOWN until a person
gives it (asal/data/labels.py), and its test/ split is optional.

An image is named everywhere by its pool key, <category>/<split>/<folder>/<file> (NFC).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from sklearn.model_selection import train_test_split

from asal.categories import MVTEC_CATEGORIES
from asal.errors import AsalError
from asal.text import nfc

SPLITS = ("train", "test")
CLASSES = ("good", "anomaly")          # index = label
UNLABELED = "unlabeled"                # the folder of a pool without labels
UNKNOWN = -1                           # the label of its images
MASK_DIR = "ground_truth"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
MVTEC_URL = "https://www.mvtec.com/company/research/datasets/mvtec-ad"


def pool_key(path) -> str:
    """<category>/<split>/<class>/<file>: how an image is named in every output (NFC).

    It is the same for `data/...`, absolute paths and the paper's `./DATA/...` lines.
    """
    parts = Path(nfc(str(path).strip())).parts
    if len(parts) < 4:
        raise AsalError(f"Path '{path}' is not in the ASAL layout "
                        "<category>/<split>/<good|anomaly>/<file>.")
    return "/".join(parts[-4:])


def key_in_pool(text: str, data_root, pool: set[str]) -> str | None:
    """The pool key a path written in a CSV names, or None when it names no pool image.

    Accepted: the key itself (as in to_label.csv and batch*.txt), or the key under the
    data root (its path as given or absolute), under `data/` (the default root) or under
    `DATA/` (the original code's, `./DATA/<key>`). A path elsewhere that only ends like a
    pool image (another copy of the data) is not this pool's image.
    """
    text = nfc(text.strip())
    if text in pool:
        return text
    path = Path(text)
    if len(path.parts) <= 4:
        return None
    root = Path(data_root)
    prefix = path.parents[3]
    candidates = {root, root.resolve(), Path("data"), Path("DATA")}
    if not path.is_absolute():
        candidates |= {Path(os.path.relpath(root.resolve()))}
    key = "/".join(path.parts[-4:])
    return key if prefix in candidates and key in pool else None


def expected_key_form(pool) -> str:
    """How a CSV must name an image, with an example from the pool."""
    example = next(iter(sorted(pool)), "<category>/train/<folder>/<file>")
    return f"a pool key such as '{example}' (as in to_label.csv)"


def missing_category_message(data_root: Path, category: str) -> str:
    where = Path(data_root) / category
    if category in MVTEC_CATEGORIES:
        return (f"Category '{category}' is not prepared in {where}; download MVTec AD from "
                f"{MVTEC_URL} and run `asal prepare-mvtec <mvtec folder> "
                f"--dest {data_root} --categories {category}`.")
    if category.startswith("synth_"):
        return (f"Synthetic category '{category}' is not in {where}; run "
                f"`asal make-synthetic --dest {data_root}`.")
    return (f"Category '{category}' not found: {where} does not exist; put your images in "
            f"{where}/{{train,test}}/{{good,anomaly}}/ or set data_root.")


def _images_in(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*") if p.is_file()
                   and p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    for p in files:
        check_file_name(p)
    return files


def check_file_name(path: Path) -> None:
    """Refuse a name that the line-based batch and label files cannot hold."""
    name = path.name
    if name != name.strip() or any(unicodedata.category(c)[0] == "C" for c in name):
        raise AsalError(f"The file name {name!r} in {path.parent} holds a line break, a tab "
                        "or another control character, or starts or ends with a space, "
                        "which the batch and label files (one path per line) cannot hold; "
                        "rename the file.")


def pool_is_unlabeled(data_root, category: str) -> bool:
    """Whether the category's pool is a folder of unlabeled images (train/unlabeled/)."""
    return (Path(data_root) / category / "train" / UNLABELED).is_dir()


def list_unlabeled(split_dir: Path) -> list[Path]:
    """The images of train/unlabeled/, sorted; refused when good/ or anomaly/ hold some too."""
    folder = split_dir / UNLABELED
    mixed = [name for name in CLASSES if _images_in(split_dir / name)]
    if mixed:
        raise AsalError(f"{split_dir} holds both {UNLABELED}/ and {'/ and '.join(mixed)}/ "
                        f"images, and a pool is either sorted into good/ and anomaly/ or "
                        f"unlabeled; move those images into {folder} and give their labels "
                        "in labels.csv (docs/own-images.md).")
    files = _images_in(folder)
    if not files:
        others = sorted(p for p in folder.rglob("*") if p.is_file())
        nested = [p for p in others if p.suffix.lower() in IMAGE_SUFFIXES]
        if nested:
            why = (f"its {len(nested)} images lie in subfolders (first: {nested[0]}); move "
                   "them into the folder itself")
        elif others:
            why = (f"its {len(others)} files have none of the suffixes {IMAGE_SUFFIXES} "
                   f"(first: {others[0].name}); add images")
        else:
            why = "it is empty; copy your images into it"
        raise AsalError(f"{folder} holds no image: {why}.")
    return files


def list_split(data_root, category: str, split: str) -> tuple[list[Path], list[int]]:
    """Image files of one split, sorted, and their labels from the folder names."""
    if not category:
        raise AsalError("No category given; pass -p category <name> (e.g. synth_fabric).")
    cat_dir = Path(data_root) / category
    if not cat_dir.is_dir():
        raise AsalError(missing_category_message(Path(data_root), category))
    split_dir = cat_dir / split
    if split == "train" and (split_dir / UNLABELED).is_dir():
        files = list_unlabeled(split_dir)
        return files, [UNKNOWN] * len(files)
    if not split_dir.is_dir():
        raise AsalError(f"Folder {split_dir} is missing; a category needs train/ and test/ "
                        "with good/ and anomaly/ inside (or train/unlabeled/ alone).")
    paths, labels = [], []
    for label, name in enumerate(CLASSES):
        folder = split_dir / name
        files = _images_in(folder)
        if not files:
            raise AsalError(f"Folder {folder} holds no images; every split needs both good "
                            "and anomaly images.")
        paths += files
        labels += [label] * len(files)
    return paths, labels


def assign_split(frame, category: str, seed: int, test_fraction: float, has_mask):
    """A stratified train/test split by label, and each image's and mask's ASAL path.

    `frame` holds a new file `name` and a `label` per image; `has_mask` says which rows
    have a defect mask. Returns a copy with `split`, `path` and `mask` columns.
    """
    frame = frame.copy()
    train_idx, _ = train_test_split(frame.index, test_size=test_fraction,
                                    stratify=frame.label, random_state=seed)
    frame["split"] = "test"
    frame.loc[train_idx, "split"] = "train"
    cls = frame.label.map(dict(enumerate(CLASSES)))
    frame["path"] = category + "/" + frame.split + "/" + cls + "/" + frame.name
    frame["mask"] = [f"{category}/{s}/{MASK_DIR}/{n}" if m else ""
                     for s, n, m in zip(frame.split, frame.name, has_mask)]
    return frame


def mask_path(image_path: Path) -> Path:
    """Where the defect mask of an image lives (it may not exist for good images)."""
    image_path = Path(image_path)
    return image_path.parent.parent / MASK_DIR / image_path.name


