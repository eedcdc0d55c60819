"""A prepared category: a folder of copied images and its manifest, written last.

prepare-mvtec and prepare-elpv both copy a planned set of files (pairs of a path in the
ASAL layout and a source below the dataset's root) and write the plan as `manifest.csv`
after every image, inside a staged folder, so that a folder with a manifest is whole.
"""

from __future__ import annotations

import filecmp
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from asal.io import write_csv

MANIFEST = "manifest.csv"


def _same_manifest(existing: Path, planned: pd.DataFrame) -> bool:
    old = pd.read_csv(existing, dtype=str, keep_default_na=False)
    return old.equals(planned.astype(str))


def _holds_the_copies(src: Path, target: Path, copies: list[tuple[str, str]]) -> bool:
    """Whether `target` holds exactly these copies, byte for byte. Hidden folders (the
    decoded-image cache) are derived from the images and not counted."""
    held = {p.relative_to(target.parent).as_posix() for p in target.rglob("*")
            if p.is_file() and not p.relative_to(target).parts[0].startswith(".")}
    return held == {rel for rel, _ in copies} and all(
        filecmp.cmp(src / source, target.parent / rel, shallow=False)
        for rel, source in copies)


def already_prepared(src: Path, target: Path, planned: pd.DataFrame,
                     copies: Iterable[tuple[str, str]]) -> bool:
    """Whether `target` holds the planned category: its manifest is the plan, or, when a
    workflow removed the manifest before rerunning the step (Snakemake does), its images
    are the planned copies byte for byte and the manifest is written back."""
    manifest = target / MANIFEST
    if manifest.exists():
        return _same_manifest(manifest, planned)
    if target.exists() and _holds_the_copies(src, target, list(copies)):
        write_csv(manifest, planned)
        return True
    return False


def copy_into(staging: Path, src: Path, copies: Iterable[tuple[str, str]]) -> None:
    """Copy each source below `src` to its layout path, relative to the category folder
    that `staging` stands in for."""
    for rel, source in copies:
        out = staging / Path(rel).relative_to(Path(rel).parts[0])
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / source, out)
