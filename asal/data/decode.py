"""Decoding image files into uint8 arrays: any mode, any size, many at once."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from asal.errors import AsalError


class UnreadableImage(AsalError):
    """An image file that cannot be decoded; `reason` is the decoder's own words."""

    def __init__(self, path, reason: str):
        super().__init__(f"Cannot read image {path} ({reason}); replace or delete the file "
                         "and run again.")
        self.path, self.reason = path, reason


def image_size_of(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding it."""
    return image_header(path)[0]


def image_header(path: Path) -> tuple[tuple[int, int], str]:
    """((width, height), PIL mode) from the file's header, without decoding it."""
    try:
        with Image.open(path) as img:
            return img.size, img.mode
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise UnreadableImage(path, str(err)) from None


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
        raise UnreadableImage(path, str(err)) from None


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
