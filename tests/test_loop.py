import statistics

import numpy as np
import pandas as pd
import pytest
import torch

from asal.config.layout import al_dir
from asal.config.profiles import resolve
from asal.data.batchfiles import read_batches
from asal.data.folders import list_split, pool_key
from asal.errors import AsalError
from asal.models.resnet import build_resnet18
from asal.models.strategies import initial_selection
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.active_learning.protocols import query_probabilities
from asal.stages.batches import make_batches
from asal.stages.pretext import run_pretext
from asal.stages.scores import run_scores

CAT = "synth_fabric"


@pytest.fixture(scope="module")
def separating_run(synth_root, tmp_path_factory):
    """Batches from scores that separate the classes (a good detector's), for one category."""
    runs = tmp_path_factory.mktemp("runs")
    paths, labels = list_split(synth_root, CAT, "train")
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"path": [pool_key(p) for p in paths],
                           "score": np.asarray(labels) + rng.normal(0, 0.4, len(labels))})
    csv = runs / "scores.csv"
    scores.to_csv(csv, index=False)

    def cfg(**kw):
        base = dict(category=CAT, data_root=str(synth_root), runs_root=str(runs),
                    image_size=32, cycles=3, epochs=2, device="cpu", pretrained="none",
                    freeze_body=False, head="adam", scorer="csv", scores_csv=str(csv),
                    batches_dir=str(runs / "synthetic" / CAT / "batches" / "csv" / "seed0"))
        return resolve(**{**base, **kw})

    run_scores(cfg())
    make_batches(cfg(batches_dir=None))
    return cfg


def _files(folder):
    return {name: (folder / name).read_bytes()
            for name in ("metrics_epoch.csv", "metrics_cycle.csv", "labeled.txt")}


def test_short_loop_writes_one_row_per_epoch_and_cycle(separating_run):
    cfg = separating_run(query="margin")
    result = run_active_learning(cfg, progress=False)
    assert len(result.epochs) == 3 * 2 and len(result.cycles) == 3
    assert result.cycles.n_labels.tolist() == [10, 11, 12]
    assert len(set(result.labeled)) == len(result.labeled) == 12     # nobody labeled twice
    assert result.cycles.queried[0] == "" and result.cycles.queried[1] in result.labeled
    lines = (al_dir(cfg) / "labeled.txt").read_text().split()
    assert lines == result.labeled
    truth = dict(zip(result.pool.paths, result.pool.labels.tolist()))
    by_key = {pool_key(p): v for p, v in truth.items()}
    assert result.cycles.n_anomalies.iloc[-1] == sum(by_key[k] for k in result.labeled)
    # only the reported (last) epoch of a cycle is evaluated on the test split
    last = result.epochs.epoch == 2
    for col in ("accuracy", "balanced_accuracy", "auroc", "ap"):
        assert result.epochs[col][last].between(0, 1).all()
        assert result.epochs[col][~last].isna().all()


def test_evaluating_every_epoch_changes_no_reported_number(separating_run, tmp_path):
    last = run_active_learning(separating_run(runs_root=str(tmp_path / "a")), progress=False)
    every = run_active_learning(separating_run(runs_root=str(tmp_path / "b"),
                                               eval_every_epoch=True), progress=False)
    assert every.epochs.auroc.notna().all()
    pd.testing.assert_frame_equal(last.cycles, every.cycles)
    assert last.labeled == every.labeled


def test_resume_after_interruption_equals_an_uninterrupted_run(separating_run, tmp_path):
    whole = separating_run(runs_root=str(tmp_path / "a"), init="random", seed=1)
    part = separating_run(runs_root=str(tmp_path / "b"), init="random", seed=1)
    run_active_learning(whole, progress=False)
    first = run_active_learning(part, progress=False, stop_after_cycle=1)
    assert len(first.cycles) == 1
    resumed = run_active_learning(part, progress=False)
    assert len(resumed.cycles) == 3
    assert _files(al_dir(whole)) == _files(al_dir(part))
    # A finished run re-run changes nothing and adds no rows.
    run_active_learning(part, progress=False)
    assert _files(al_dir(whole)) == _files(al_dir(part))
    # A finished run whose files were removed (snakemake --forceall) writes them again.
    (al_dir(part) / "metrics_cycle.csv").unlink()
    run_active_learning(part, progress=False)
    assert _files(al_dir(whole)) == _files(al_dir(part))


def test_paper_protocol_squashes_confidence_and_reports_best_epoch(separating_run):
    logits = torch.tensor([[8.0, -8.0], [0.1, 0.0]])
    assert query_probabilities(logits, "clean")[0, 0] > 0.99
    assert query_probabilities(logits, "paper")[0, 0] < 0.89       # L2-normalised logits
    result = run_active_learning(separating_run(protocol="paper", exp="paper"),
                                 progress=False)
    best = result.epochs.groupby("cycle").accuracy.max().to_numpy()
    assert np.allclose(result.cycles.accuracy.to_numpy(), best)


def test_asal_initial_set_holds_both_classes_and_more_defects_than_random(separating_run):
    cfg = separating_run()
    batches = read_batches(cfg.batches_dir)
    labels = {pool_key(p): lab for p, lab in zip(*list_split(cfg.data_root, CAT, "train"))}
    asal = [labels[p] for p in initial_selection("asal", batches, 2, 0)]
    random_counts = [sum(labels[p] for p in initial_selection("random", batches, 2, s))
                     for s in range(20)]
    assert 0 < sum(asal) < len(asal)
    assert sum(asal) >= statistics.median(random_counts)
    print(f"asal picks {sum(asal)} defects; random: median {statistics.median(random_counts)},"
          f" none in {random_counts.count(0)} of 20 seeds")


def test_bad_input_is_named_and_nothing_written_is_damaged(separating_run, tmp_path):
    cfg = separating_run(exp="bad")
    with pytest.raises(AsalError, match="exceeds the pool"):
        run_active_learning(separating_run(cycles=200), progress=False)
    with pytest.raises(AsalError, match="'query' .* must be 'least_confidence', .*not 'bald'"):
        separating_run(query="bald")
    with pytest.raises(AsalError, match="02_split_batches"):
        run_active_learning(separating_run(batches_dir=str(tmp_path)), progress=False)
    run_active_learning(cfg, progress=False)
    before = _files(al_dir(cfg))
    # a folder holding a run made with other parameters is refused, naming the parameter
    with pytest.raises(AsalError, match=r"made with epochs=2, and this one asks for epochs=3;"
                                        r" pass -p exp"):
        run_active_learning(separating_run(exp="bad", epochs=3), progress=False)
    assert _files(al_dir(cfg)) == before
    (tmp_path / "no.pt").write_bytes(b"not a state_dict")
    with pytest.raises(AsalError, match="Cannot load weights"):
        run_active_learning(separating_run(exp="bad_weights",
                                           pretrained=str(tmp_path / "no.pt")), progress=False)


def test_weights_from_a_state_dict_file(tmp_path):
    source = build_resnet18("none")
    torch.save(source.state_dict(), tmp_path / "w.pt")
    loaded = build_resnet18(str(tmp_path / "w.pt"))
    assert torch.equal(loaded.conv1.weight, source.conv1.weight)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(AsalError, match="Cannot load weights"):
        build_resnet18(str(tmp_path / "junk.pt"))


def test_imagenet_weights_missing_offline_say_where_to_put_them():
    from pathlib import Path

    import torchvision
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    if (Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name).exists():
        pytest.skip("ImageNet weights are present on this machine")
    with pytest.raises(AsalError, match="copy resnet18-.*pretrained='none'"):
        build_resnet18("imagenet")


def test_self_supervised_start_and_the_rotation_baseline_through_the_loop(separating_run,
                                                                          tmp_path):
    from asal.config.layout import BACKBONE, ROTATION_SCORES, pretext_dir
    from asal.models.ranking import sort_scores

    tiny = dict(runs_root=str(tmp_path), pretrained="self_supervised", freeze_body=True,
                synthesis_epochs=1,
                rotation_epochs=1, cycles=2, epochs=1)
    cfg = separating_run(init="pt4al", **tiny)
    with pytest.raises(AsalError, match="No synthesis pretext network .*00_pretext"):
        run_active_learning(cfg, progress=False)           # 03 never trains one itself
    for task in cfg.pretext_tasks():
        run_pretext(cfg, task, progress=False)
    result = run_active_learning(cfg, progress=False)
    ranking = sort_scores(pd.read_csv(pretext_dir(cfg, "rotation") / ROTATION_SCORES))
    top = ranking.path.tolist()[:len(result.pool) // 5]
    assert result.labeled[:10] == [top[i * len(top) // 10] for i in range(10)]
    # the classifier starts from the backbone, and with freeze_body only its head learned
    from asal.stages.active_learning.loop import Loop
    assert Loop(cfg, progress=False).weights == str(pretext_dir(cfg) / BACKBONE)
    body = torch.load(pretext_dir(cfg) / BACKBONE, weights_only=True)
    final = torch.load(al_dir(cfg) / "model.pt", weights_only=True)["state_dict"]
    assert cfg.freeze_body and all(torch.equal(body[k], final[k]) for k in body)
    assert not torch.equal(final["fc.weight"], build_resnet18("none").fc.weight)
    # a backbone trained with other settings is refused, and the run's files stay as they are
    before = _files(al_dir(cfg))
    with pytest.raises(AsalError, match="trained with pretext_lr=0.001, and this run has "
                                        "0.01; run notebooks/00_pretext"):
        run_active_learning(separating_run(init="pt4al",
                                           **{**tiny, "pretext_lr": 0.01}), progress=False)
    assert _files(al_dir(cfg)) == before


def test_feature_baselines_need_a_pretrained_network_and_lbfgs_a_frozen_body(separating_run):
    with pytest.raises(AsalError, match="typiclust.*pretrained is 'none'"):
        run_active_learning(separating_run(init="typiclust"), progress=False)
    with pytest.raises(AsalError, match="head lbfgs fits a logistic regression on a frozen "
                                        "body's features; set freeze_body to true"):
        separating_run(head="lbfgs")


def test_more_cycles_continue_a_finished_run_and_fewer_are_refused(separating_run, tmp_path,
                                                                   capsys):
    grown = separating_run(runs_root=str(tmp_path / "a"), cycles=2)
    run_active_learning(grown, progress=False)
    capsys.readouterr()
    longer = separating_run(runs_root=str(tmp_path / "a"), cycles=3)
    run_active_learning(longer, progress=False)
    assert "again from cycle 0" not in capsys.readouterr().out      # it continued
    whole = separating_run(runs_root=str(tmp_path / "b"), cycles=3)
    run_active_learning(whole, progress=False)
    assert _files(al_dir(longer)) == _files(al_dir(whole))
    before = _files(al_dir(longer))
    with pytest.raises(AsalError, match="holds a run of 3 cycles, and this one asks for "
                                        "cycles=2"):
        run_active_learning(grown, progress=False)
    assert _files(al_dir(longer)) == before


def test_what_a_killed_run_left_is_gone_after_the_next_run(separating_run, tmp_path):
    cfg = separating_run(runs_root=str(tmp_path), cycles=2)
    out = al_dir(cfg)
    run_active_learning(separating_run(runs_root=str(tmp_path), cycles=1), progress=False)
    # a set write killed while it built its next version, and a checkpoint written whole
    # by a process that is gone (pid 2**22 + 1 is above Linux's pid_max default)
    (out.parent / f".{out.name}.partial").mkdir()
    (out.parent / f".{out.name}.partial" / "checkpoint.pt").write_bytes(b"half")
    from asal.io import _HOST
    orphan = out / f".checkpoint.pt.{_HOST}-{2**22 + 1}.abcd.tmp"
    orphan.write_bytes(b"half")
    run_active_learning(cfg, progress=False)
    left = [p.name for p in (*out.parent.iterdir(), *out.iterdir())
            if p.name.startswith(".") and not p.name.endswith(".lock")]
    assert left == []


def test_a_clustered_query_of_five_labels_five_new_images_a_round(separating_run, tmp_path):
    cfg = separating_run(runs_root=str(tmp_path), query_size=5, query_batch="clustered")
    result = run_active_learning(cfg, progress=False)
    assert result.cycles.n_labels.tolist() == [10, 15, 20]
    assert len(set(result.labeled)) == 20                  # never an image twice
    assert [len(q.split(";")) for q in result.cycles.queried[1:]] == [5, 5]
    # a record from before query_batch existed was made with its default, top
    made = {**cfg.identity("al")}
    del made["query_batch"]
    assert separating_run(query_size=5).first_difference(made, "al") is None
    assert cfg.first_difference(made, "al") == "query_batch"
