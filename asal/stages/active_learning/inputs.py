"""What a run of 03 reads: the batches it picks from (02's, or the given batches_dir), the
pool and the test split, decoded as the classifier sees them, each checked against the
others; a pool or test split of one class is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from asal.config.layout import source_batches
from asal.data.batchfiles import check_against_pool, read_batches
from asal.data.images import Split, load_split, load_test
from asal.errors import AsalError

if TYPE_CHECKING:
    from asal.config.schema import Params


def load_loop_data(cfg: Params) -> tuple[Split, Split | None, list[list[str]]]:
    folder = source_batches(cfg)
    if not (folder / "batch0.txt").exists():
        raise AsalError(f"No batches for {cfg.category} in {folder}; run "
                        f"notebooks/01_scores.ipynb then notebooks/02_split_batches.ipynb with "
                        f"-p category {cfg.category}, or pass batches_dir.")
    batches = read_batches(folder)
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size, cfg.use_grayscale)
    test = load_test(cfg.data_root, cfg.category, cfg.image_size, cfg.use_grayscale)
    check_against_pool(batches, pool.keys(), folder)
    if sum(map(len, batches)) != len(pool):
        raise AsalError(f"The batches in {folder} hold {sum(map(len, batches))} images, the "
                        f"pool {len(pool)}; rebuild them with 02_split_batches.")
    if test is None and cfg.protocol == "paper":
        raise AsalError(f"protocol 'paper' picks each cycle's epoch on the test split, and "
                        f"{cfg.category} has none; use protocol 'clean'.")
    # the folders' labels are checked only when they are the labels the loop uses
    labeled = [("pool", pool)] if cfg.oracle == "folders" and pool.labeled else []
    for name, split in labeled + ([("test split", test)] if test is not None else []):
        if split.labels.min() == split.labels.max():
            missing = "anomalies" if split.labels.max() == 0 else "normal images"
            raise AsalError(f"The {name} of {cfg.category} holds no {missing}; a good/defect "
                            "classifier needs both classes.")
    return pool, test, batches
