"""Labels from a person: oracle "file", to_label.csv, labels.csv and their bad input."""

import numpy as np
import pandas as pd
import pytest

from asal.config.layout import al_dir, labels_path
from asal.config.profiles import resolve
from asal.data.folders import list_split, pool_key
from asal.data.labels import (LABEL_OF, TO_LABEL_CSV, read_labels, read_to_label, set_labels,
                              write_labels)
from asal.errors import AsalError
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.batches import make_batches
from asal.stages.scores import run_scores

CAT = "synth_washer"
OUTPUTS = ("metrics_epoch.csv", "metrics_cycle.csv", "labeled.txt")


@pytest.fixture(scope="module")
def truth(synth_root):
    paths, labels = list_split(synth_root, CAT, "train")
    return {pool_key(p): y for p, y in zip(paths, labels)}


@pytest.fixture(scope="module")
def make_cfg(synth_root, truth, tmp_path_factory):
    """A short run's parameters; batches from scores that roughly separate the classes."""
    shared = tmp_path_factory.mktemp("shared")
    rng = np.random.default_rng(1)
    scores = pd.DataFrame({"path": list(truth),
                           "score": np.array(list(truth.values())) + rng.normal(0, .5, len(truth))})
    scores.to_csv(shared / "scores.csv", index=False)
    batches = shared / "synthetic" / CAT / "batches" / "csv" / "seed0"

    def cfg(runs, **kw):
        base = dict(category=CAT, data_root=str(synth_root), runs_root=str(runs),
                    image_size=32, cycles=4, epochs=2, device="cpu", pretrained="none",
                    freeze_body=False, head="adam", batches_dir=str(batches), scorer="csv",
                    scores_csv=str(shared / "scores.csv"))
        return resolve(**{**base, **kw})

    run_scores(cfg(shared))
    make_batches(cfg(shared, batches_dir=None))
    return cfg


def answer_rounds(cfg, truth):
    """Run the loop with oracle file, answering each to_label.csv from `truth`, to the end.

    Returns every round's to_label list and the finished result.
    """
    rounds = []
    while True:
        result = run_active_learning(cfg, progress=False)
        asked = read_to_label(al_dir(cfg))
        assert asked == result.to_label
        if result.finished:
            assert not asked and not (al_dir(cfg) / TO_LABEL_CSV).exists()
            return rounds, result
        rounds.append(asked)
        set_labels(labels_path(cfg), {k: truth[k] for k in asked}, truth)


def test_file_oracle_run_equals_the_folders_run(make_cfg, truth, tmp_path):
    folders = run_active_learning(make_cfg(tmp_path / "a"), progress=False)
    cfg = make_cfg(tmp_path / "b", oracle="file")
    rounds, result = answer_rounds(cfg, truth)
    for name in OUTPUTS:
        assert (al_dir(cfg) / name).read_bytes() == (folders.out_dir / name).read_bytes(), name
    # one round for the initial set, one per later cycle; nothing asked twice, and what was
    # asked is the labeled set in its order
    assert [len(r) for r in rounds] == [10, 1, 1, 1]
    asked = [k for r in rounds for k in r]
    assert len(set(asked)) == len(asked)
    assert asked == (al_dir(cfg) / "labeled.txt").read_text().split() == result.labeled
    # and what to label next: the rest of the pool, least confident first
    following = pd.read_csv(al_dir(cfg) / "next_to_label.csv")
    assert sorted(following.path) == sorted(set(truth) - set(asked))
    assert following.confidence.is_monotonic_increasing
    assert following.confidence.between(0.5, 1).all() and {"score", "rank"} <= set(following)


def test_more_cycles_ask_only_for_the_new_images(make_cfg, truth, tmp_path):
    cfg = make_cfg(tmp_path, oracle="file")
    first, _ = answer_rounds(cfg, truth)
    more, result = answer_rounds(make_cfg(tmp_path, oracle="file", cycles=6), truth)
    assert [len(r) for r in more] == [1, 1]       # cycles 4 and 5; the rest were known
    assert result.labeled[:13] == [k for r in first for k in r]


def test_a_stop_says_how_many_and_how(make_cfg, truth, tmp_path, capfd):
    cfg = make_cfg(tmp_path, oracle="file")
    result = run_active_learning(cfg, progress=False)
    out = capfd.readouterr().err
    assert len(result.to_label) == 10 and result.cycles.empty and not result.finished
    assert "10 images need a label before the initial set" in out
    assert "05_label.ipynb" in out and str(labels_path(cfg)) in out
    frame = pd.read_csv(al_dir(cfg) / TO_LABEL_CSV)
    assert list(frame.columns[:1]) == ["path"] and {"score", "rank"} <= set(frame.columns)
    # half of them labeled: the other half is asked for again, nothing more
    set_labels(labels_path(cfg), {k: truth[k] for k in result.to_label[:5]}, truth)
    again = run_active_learning(cfg, progress=False)
    assert again.to_label == result.to_label[5:]
    set_labels(labels_path(cfg), {k: truth[k] for k in again.to_label}, truth)
    third = run_active_learning(cfg, progress=False)
    assert len(third.cycles) == 1 and len(third.to_label) == 1
    assert "1 image needs a label before cycle 1" in capfd.readouterr().err
    # the query waiting for its label is kept, not made again
    assert run_active_learning(cfg, progress=False).to_label == third.to_label


def test_a_changed_label_restarts_the_run(make_cfg, truth, tmp_path, capsys):
    cfg = make_cfg(tmp_path, oracle="file")
    set_labels(labels_path(cfg), dict(truth), truth)            # everything labeled
    first = run_active_learning(cfg, progress=False, stop_after_cycle=2)
    assert len(first.cycles) == 2
    flipped = first.labeled[0]
    set_labels(labels_path(cfg), {flipped: 1 - truth[flipped]}, truth)
    result = run_active_learning(cfg, progress=False)
    assert (f"differ from those this run trained with in 1 image(s) (first: {flipped}, "
            in capsys.readouterr().out)
    assert result.finished and result.labels[flipped] == 1 - truth[flipped]


def test_labels_csv_bad_rows_are_named(tmp_path, truth):
    keys = list(truth)
    path = tmp_path / "labels.csv"
    cases = {
        f"path,label\n{keys[0]},good\nsomewhere/else/x.png,good\n": "Line 3",
        f"path,label\n{keys[0]},good\n{keys[1]},scratch\n": "the label 'scratch'",
        f"path,label\n{keys[0]},good\n{keys[1]},good\n{keys[0]},anomaly\n": "line 2 labels",
        "file,class\n": "needs the columns path and label",
    }
    for text, expected in cases.items():
        path.write_text(text)
        with pytest.raises(AsalError, match=expected):
            read_labels(path, keys)
        # a bad file is not overwritten by the next click either
        with pytest.raises(AsalError):
            set_labels(path, {keys[5]: 1}, keys)
        assert path.read_text() == text
    path.write_text(f"path,label\n{keys[0]},good\n{keys[0]},good\n data/{keys[1]} , ANOMALY\n")
    assert read_labels(path, keys) == {keys[0]: 0, keys[1]: 1}


def test_set_labels_keeps_order_and_changes_in_place(tmp_path, truth):
    keys = list(truth)
    path = tmp_path / "labels.csv"
    set_labels(path, {keys[3]: 1}, keys)
    set_labels(path, {keys[1]: 0}, keys)
    set_labels(path, {keys[3]: 0}, keys)
    assert path.read_text() == f"path,label\n{keys[3]},good\n{keys[1]},good\n"
    write_labels(path, {})
    assert read_labels(path, keys) == {}
    # one word, defect, is written; the folder's word anomaly (the old spelling) is read
    assert LABEL_OF == {"good": 0, "defect": 1, "anomaly": 1}
    set_labels(path, {keys[2]: 1}, keys)
    assert path.read_text().endswith(f"{keys[2]},defect\n")
    path.write_text(f"path,label\n{keys[4]},anomaly\n")
    assert read_labels(path, keys) == {keys[4]: 1}


def test_folders_oracle_refuses_an_unlabeled_pool(unlabeled_root, tmp_path):
    cfg = resolve(category="own", data_root=str(unlabeled_root), runs_root=str(tmp_path),
                  image_size=32, device="cpu", pretrained="none", freeze_body=False,
                  head="adam")
    from asal.data.images import load_split
    from asal.stages.active_learning.asking import known_labels
    pool = load_split(unlabeled_root, "own", "train", 32)
    with pytest.raises(AsalError, match="-p oracle file"):
        known_labels(cfg, pool)
