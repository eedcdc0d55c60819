"""The premise on a ranking alone, on rankings the test writes (never ../shared/)."""

import pytest
from scipy.stats import hypergeom

from asal.__main__ import main
from asal.errors import AsalError
from asal.stages.premise import category_premise, label_of, premise_table


def _write(folder, batches):
    folder.mkdir(parents=True)
    for b, lines in enumerate(batches):
        (folder / f"batch{b}.txt").write_text("".join(f"{line}\n" for line in lines))
    # the paper's batch.txt (whole pool, another order) is not read
    (folder / "batch.txt").write_text("".join(f"{line}\n" for b in batches[::-1] for line in b))


def _paper_lines(cat, labels, start=0):
    return [f"./DATA/{cat}/train/{'anomaly' if lab else 'good'}/"
            f"{'anomaly' if lab else 'good'}_{cat} ({start + i}).png"
            for i, lab in enumerate(labels)]


def test_paper_layout_with_spaces_in_names(tmp_path):
    # bottle: batch 0 all defects, the others hold one defect among four
    labels = [[1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    _write(tmp_path / "rank" / "bottle",
           [_paper_lines("bottle", labs, 10 * b) for b, labs in enumerate(labels)])
    row = premise_table(tmp_path / "rank").iloc[0]
    assert row.category == "bottle" and row.pool == 20 and row.defects == 8
    assert row.asal_initial_defects == 2 + 1 + 0 + 0 + 1
    assert row.random_expected_defects == pytest.approx(10 * 8 / 20)
    assert row.random_p_no_defect == pytest.approx(hypergeom.pmf(0, 20, 8, 10))
    assert [row[f"batch{b}_defect_share"] for b in range(5)] == [1, .25, .25, .25, .25]


def test_project_layout_of_runs_exp_category_batches(tmp_path):
    for cat, first in (("a", [1, 1]), ("b", [0, 0])):
        _write(tmp_path / "exp" / cat / "batches",
               [[f"{cat}/train/{'anomaly' if x else 'good'}/{b}_{i}.png"
                 for i, x in enumerate(first if b == 0 else [0, 0])] for b in range(3)])
    table = premise_table(tmp_path / "exp")
    assert table.category.tolist() == ["a", "b"]
    assert table.asal_initial_defects.tolist() == [2, 0]
    assert table.random_p_no_defect.iloc[1] == 1.0             # no defect in b at all


def test_labels_come_from_a_folder_not_the_file_name():
    assert label_of("./DATA/x/train/anomaly/good_1.png") == 1
    assert label_of("x/train/good/anomaly scratch.png") == 0
    assert label_of("images/anomaly.png") is None


def test_bad_rankings_say_what_is_wrong(tmp_path):
    with pytest.raises(AsalError, match="carry no label.*'img/0.png'"):
        category_premise([["img/0.png", "img/1.png"]], 1, "x")
    _write(tmp_path / "gap" / "c", [["c/train/good/0.png"]] * 2)
    (tmp_path / "gap" / "c" / "batch1.txt").rename(tmp_path / "gap" / "c" / "batch2.txt")
    with pytest.raises(AsalError, match="not numbered 0..K-1"):
        premise_table(tmp_path / "gap")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AsalError, match="No batch0.txt"):
        premise_table(tmp_path / "empty")


def test_command_line_writes_the_table_with_its_source(tmp_path, capsys):
    _write(tmp_path / "r" / "cable", [_paper_lines("cable", [1, 0]), _paper_lines("cable", [0, 0])])
    out = tmp_path / "t" / "premise.csv"
    assert main(["premise", str(tmp_path / "r"), "--out", str(out), "--source", "a test"]) == 0
    first = out.read_text().splitlines()[0]
    assert first.startswith("# ASAL's premise on the rankings of a test")
    assert out.with_suffix(".md").exists()
    assert main(["premise", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_unlabeled_pool_is_left_out_only_when_asked(tmp_path):
    labels = [[1, 1], [0, 0], [0, 1], [0, 0], [1, 0]]
    _write(tmp_path / "exp" / "bottle" / "batches",
           [_paper_lines("bottle", labs, 10 * b) for b, labs in enumerate(labels)])
    _write(tmp_path / "exp" / "own" / "batches",
           [[f"own/train/unlabeled/p{b}{i}.png" for i in range(2)] for b in range(5)])
    with pytest.raises(AsalError, match="10 paths .* carry no label"):
        premise_table(tmp_path / "exp")
    table = premise_table(tmp_path / "exp", skip_unlabeled=True)
    assert table.category.tolist() == ["bottle"] and table.attrs["left_out"] == ["own"]
