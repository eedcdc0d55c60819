import pandas as pd
import pytest

from asal.data.batchfiles import read_batches, write_batches
from asal.errors import AsalError
from asal.models.ranking import batch_sizes, sort_scores, split_batches


def test_paper_batch_sizes_for_bottle():
    assert batch_sizes(232, 5) == [46, 46, 46, 46, 48]
    assert batch_sizes(5, 5) == [1, 1, 1, 1, 1]
    with pytest.raises(AsalError, match="n_batches=6"):
        batch_sizes(5, 6)


def test_scores_sort_as_numbers_high_to_low_ties_by_path():
    frame = pd.DataFrame({"path": ["c/train/good/a.png", "c/train/good/b.png",
                                   "c/train/good/c.png", "c/train/good/d.png"],
                          "score": ["9.1e-05", "0.5", "1e-3", "0.5"]})
    ordered = sort_scores(frame)
    # As text, "9.1e-05" would come first; as numbers it is the lowest.
    assert ordered.path.tolist() == ["c/train/good/b.png", "c/train/good/d.png",
                                     "c/train/good/c.png", "c/train/good/a.png"]
    assert ordered["rank"].tolist() == [1, 2, 3, 4]


def test_write_then_read_round_trip_keeps_order(tmp_path):
    paths = [f"bottle/train/good/good_bottle_{i:03d}.png" for i in range(232)]
    frame = split_batches(sort_scores(pd.DataFrame({"path": paths, "score": range(232)})), 5)
    write_batches(tmp_path, frame)
    batches = read_batches(tmp_path)
    assert [len(b) for b in batches] == [46, 46, 46, 46, 48]
    assert [p for b in batches for p in b] == (tmp_path / "batch.txt").read_text().split()
    assert batches[0][0] == paths[-1]                      # the highest score first


def test_reads_the_papers_published_format(tmp_path):
    lines = {0: ["./DATA/cable/train/anomaly/anomaly_cable_missing_cable_011.png",
                 "./DATA/cable/train/anomaly/anomaly_cable_missing_cable_006.png"],
             1: ["./DATA/cable/train/good/good_cable_149.png"]}
    for b, paths in lines.items():
        (tmp_path / f"batch{b}.txt").write_text("\n".join(paths) + "\n")
    batches = read_batches(tmp_path)
    assert batches == [["cable/train/anomaly/anomaly_cable_missing_cable_011.png",
                        "cable/train/anomaly/anomaly_cable_missing_cable_006.png"],
                       ["cable/train/good/good_cable_149.png"]]


def test_missing_batches_name_the_fix(tmp_path):
    with pytest.raises(AsalError, match="02_split_batches"):
        read_batches(tmp_path)
    (tmp_path / "batch1.txt").write_text("a/train/good/x.png\n")
    with pytest.raises(AsalError, match="without gaps"):
        read_batches(tmp_path)
