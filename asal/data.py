"""The ASAL folder layout and decode-once image tensors with an on-disk cache.

Layout (the original's): <data_root>/<category>/{train,test}/{good,anomaly}/*.png, where
`train` is the pool and `test` the held-out split; good = 0, anomaly = 1. Defect masks,
where known, lie in <split>/ground_truth/<same file name>.

A pool nobody has sorted keeps its images in <category>/train/unlabeled/ instead; their
label is UNKNOWN until a person gives it (asal/oracle.py), and its test/ split is optional.

`load_split` decodes every image of a split once, resizes it and returns one uint8 tensor;
the result is cached in <category>/.cache/, keyed by the file names, their modification
times and sizes, the image size and the grayscale flag, so any change to a file, or a file
added or removed, invalidates it.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split

from asal.config import MVTEC_CATEGORIES
from asal.csvfile import nfc
from asal.errors import AsalError
from asal.io import write_torch

SPLITS = ("train", "test")
CLASSES = ("good", "anomaly")          # index = label
UNLABELED = "unlabeled"                # the folder of a pool without labels
UNKNOWN = -1                           # the label of its images
MASK_DIR = "ground_truth"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
MVTEC_URL = "https://www.mvtec.com/company/research/datasets/mvtec-ad"
CACHE_VERSION = 2           # 2: the original image sizes are kept too


@dataclass
class Split:
    """One split of one category, decoded: images (N, 3, H, W) uint8, labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor
    paths: list[str]

    def __len__(self):
        return len(self.paths)

    @property
    def labeled(self) -> bool:
        """Whether every image's label is known (from its folder)."""
        return bool((self.labels != UNKNOWN).all())

    def label_column(self) -> pd.arrays.IntegerArray:
        """The labels for a CSV column: 0 / 1, empty (NA) where unknown."""
        labels = pd.array(self.labels.numpy(), dtype="Int64")
        labels[labels == UNKNOWN] = pd.NA
        return labels

    def keys(self) -> list[str]:
        """The images' pool keys (see pool_key), in order."""
        return [pool_key(p) for p in self.paths]

    def subset(self, index) -> "Split":
        index = torch.as_tensor(index, dtype=torch.long)
        return Split(self.images[index], self.labels[index], [self.paths[i] for i in index])


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
                f"{MVTEC_URL} and run `python -m asal prepare-mvtec <mvtec folder> "
                f"--dest {data_root} --categories {category}`.")
    if category.startswith("synth_"):
        return (f"Synthetic category '{category}' is not in {where}; run "
                f"`python -m asal make-synthetic --dest {data_root}`.")
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
                        "in labels.csv (README, \"Your own images\").")
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


def image_size_of(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding it."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise AsalError(f"Cannot read image {path} ({err}); replace or delete the file and "
                        "run again.") from None


def report_non_square(paths, sizes, size: int, where: str) -> None:
    """The policy for images that are not square, said once per split: they are resized to
    size x size (stretched), not cropped, so no defect near an edge is cut away."""
    odd = [(p, s) for p, s in zip(paths, sizes) if s[0] != s[1]]
    if odd:
        (first, (w, h)) = odd[0]
        print(f"{len(odd)} of the {len(paths)} images of {where} are not square (first: "
              f"{Path(first).name}, {w} x {h} px); each is resized to {size} x {size} px, "
              "stretched rather than cropped so that no defect near an edge is cut away.")


def decode_image(path: Path, size: int, grayscale: bool = False) -> np.ndarray:
    """One image as (3, size, size) uint8 RGB; gray, RGBA and 16-bit inputs included.
    A non-square image is stretched to the square (see report_non_square)."""
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16-bit: keep the top 8 bits; PIL's own convert would clip to white.
                arr = np.asarray(img, dtype=np.uint32) >> 8
                img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), mode="L")
            img = img.convert("L" if grayscale else "RGB").convert("RGB")
            img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise AsalError(f"Cannot read image {path} ({err}); replace or delete the file and "
                        "run again.") from None


def decode_mask(path: Path, size: int) -> np.ndarray:
    """A binary mask (size, size) uint8; an absent file means no defect pixels."""
    if not Path(path).exists():
        return np.zeros((size, size), dtype=np.uint8)
    try:
        with Image.open(path) as img:
            img = img.convert("L").resize((size, size), Image.NEAREST)
            return (np.asarray(img) > 127).astype(np.uint8)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise AsalError(f"Cannot read mask {path} ({err}); replace or delete the file.") \
            from None


def decode_many(paths, fn, *args) -> np.ndarray:
    """Decode files in a thread pool (PIL releases the GIL while decoding)."""
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        arrays = list(pool.map(lambda p: fn(p, *args), paths))
    return np.stack(arrays) if arrays else np.zeros((0,), dtype=np.uint8)


def _cache_key(paths: list[Path], size: int, grayscale: bool, kind: str) -> str:
    h = hashlib.sha1(f"{CACHE_VERSION}|{kind}|{size}|{grayscale}".encode())
    for p in paths:
        st = p.stat() if p.exists() else None
        stamp = f"{st.st_mtime_ns}|{st.st_size}" if st else "absent"
        h.update(f"\n{p.as_posix()}|{stamp}".encode())
    return h.hexdigest()[:16]


def _cached(cache_dir: Path, stem: str, key: str, build):
    """Return build()'s tensor dict, read from cache_dir/stem-key.pt when it is there."""
    target = cache_dir / f"{stem}-{key}.pt"
    if target.exists():
        try:
            return torch.load(target, weights_only=True, mmap=True)
        except (RuntimeError, OSError, EOFError):
            pass  # a damaged cache file is simply rebuilt
    value = build()
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"{stem}-*.pt"):
        old.unlink(missing_ok=True)   # stale entries of the same split and size
    write_torch(target, value)
    return value


def load_split(data_root, category: str, split: str, size: int,
               grayscale: bool = False, cache: bool = True) -> Split:
    """Decode one split of a category to a uint8 tensor (N, 3, size, size), once."""
    if split not in SPLITS:
        raise AsalError(f"Split '{split}' is unknown; use one of {SPLITS}.")
    paths, labels = list_split(data_root, category, split)

    def build():
        images = torch.from_numpy(decode_many(paths, decode_image, size, grayscale))
        sizes = [image_size_of(p) for p in paths]
        return {"images": images, "labels": torch.tensor(labels, dtype=torch.long),
                "sizes": torch.tensor(sizes, dtype=torch.long).reshape(-1, 2)}

    if cache:
        key = _cache_key(paths, size, grayscale, "images")
        stem = f"{split}-{size}-{'gray' if grayscale else 'rgb'}"
        value = _cached(Path(data_root) / category / ".cache", stem, key, build)
    else:
        value = build()
    report_non_square(paths, value["sizes"].tolist(), size, f"{category}/{split}")
    return Split(value["images"], value["labels"], [str(p) for p in paths])


def load_test(data_root, category: str, size: int, grayscale: bool = False) -> Split | None:
    """The test split; None for an unlabeled pool that comes without one (no test metrics)."""
    if pool_is_unlabeled(data_root, category) \
            and not (Path(data_root) / category / "test").is_dir():
        return None
    return load_split(data_root, category, "test", size, grayscale)


def load_masks(paths: list[str], size: int) -> torch.Tensor:
    """Masks (N, size, size) uint8 of the given images; zeros where none exists."""
    masks = [mask_path(Path(p)) for p in paths]
    return torch.from_numpy(decode_many(masks, decode_mask, size))


def has_masks(paths: list[str]) -> bool:
    return any(mask_path(Path(p)).exists() for p in paths)

