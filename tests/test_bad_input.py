"""Bad input gets one sentence naming the file, the line where there is one, and the fix;
nothing already written changes."""

import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from asal.__main__ import build_parser, main
from asal.config.layout import scores_dir
from asal.config.profiles import resolve
from asal.data.folders import list_split, pool_key
from asal.data.images import load_split
from asal.data.labels import read_labels
from asal.errors import AsalError
from asal.project import PROJECT_ROOT, shown
from asal.stages.scores import run_scores

CAT = "synth_tiles"


@pytest.fixture(scope="module")
def pool_keys(synth_root):
    return [pool_key(p) for p in list_split(synth_root, CAT, "train")[0]]


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*")) if p.is_file()}


# ------------------------------------------------------------------------- scores_csv

@pytest.fixture
def scored(synth_root, pool_keys, tmp_path):
    """A finished import of good scores, and a function that tries another scores_csv."""
    csv = tmp_path / "good.csv"
    pd.DataFrame({"path": pool_keys, "score": np.linspace(0, 1, len(pool_keys))}).to_csv(
        csv, index=False)

    def cfg(path):
        return resolve(category=CAT, data_root=str(synth_root), runs_root=str(tmp_path),
                       image_size=32, scorer="csv", scores_csv=str(path), head="lbfgs")

    run_scores(cfg(csv))
    before = _snapshot(scores_dir(cfg(csv)))

    def attempt(text):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(AsalError) as err:
            run_scores(cfg(bad))
        assert _snapshot(scores_dir(cfg(csv))) == before        # the finished run stays
        return str(err.value)

    return attempt


def _scores_text(keys, score=lambda i: f"{i / 1000}", extra=""):
    return "path,score\n" + "".join(f"{k},{score(i)}\n" for i, k in enumerate(keys)) + extra


def test_a_score_that_is_infinite_or_no_number_names_its_line(scored, pool_keys):
    message = scored(_scores_text(pool_keys, lambda i: "inf" if i == 4 else f"{i}"))
    assert message.startswith("Line 6 of ") and "the score 'inf'" in message
    assert "finite number" in message
    assert "the score 'high'" in scored(_scores_text(pool_keys, lambda i: "high"))


def test_a_duplicate_path_names_both_lines(scored, pool_keys):
    message = scored(_scores_text(pool_keys, extra=f"{pool_keys[3]},0.5\n"))
    assert f"Line {len(pool_keys) + 2} of" in message and "(line 5 did first)" in message


def test_a_path_outside_the_pool_is_refused_not_ignored(scored, pool_keys):
    message = scored(_scores_text(pool_keys, extra=f"{CAT}/train/good/stranger.png,0.5\n"))
    assert "stranger.png', which is not an image of synth_tiles/train" in message
    other_disk = f"/some/other/disk/{pool_keys[0]}"
    assert "not an image" in scored(_scores_text([other_disk] + pool_keys[1:]))


# ------------------------------------------------------------------------- file names

def test_a_file_name_with_a_line_break_is_refused(tmp_path):
    folder = tmp_path / "own" / "train" / "unlabeled"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "ok.png")
    Image.new("RGB", (8, 8)).save(folder / "break\n.png")
    with pytest.raises(AsalError, match=r"'break\\n.png' .* holds a line break.*rename"):
        list_split(tmp_path, "own", "train")


def test_a_non_square_image_is_stretched_and_said_once(tmp_path, capsys):
    folder = tmp_path / "own" / "train" / "unlabeled"
    folder.mkdir(parents=True)
    Image.new("RGB", (40, 30), "white").save(folder / "wide.png")
    Image.new("RGB", (16, 16), "white").save(folder / "square.png")
    split = load_split(tmp_path, "own", "train", 32)
    assert split.images.shape == (2, 3, 32, 32)
    said = capsys.readouterr().out
    assert said.count("\n") == 1
    assert "1 of the 2 images of own/train are not square (first: wide.png, 40 x 30 px)" in said
    load_split(tmp_path, "own", "train", 32)                       # from the cache: said again
    assert "stretched rather than cropped" in capsys.readouterr().out


# ------------------------------------------------------------------------- labels.csv

def test_labels_csv_line_numbers_count_blank_lines(tmp_path, pool_keys):
    path = tmp_path / "labels.csv"
    path.write_text(f"path,label\n{pool_keys[0]},good\n\n\n\n{pool_keys[1]},scratch\n")
    with pytest.raises(AsalError, match=r"^Line 6 of .*the label 'scratch'"):
        read_labels(path, pool_keys)


def test_labels_csv_takes_trailing_commas_and_decomposed_unicode(tmp_path):
    composed = "own/train/unlabeled/pièce_01.png"
    keys = [composed, "own/train/unlabeled/b.png"]
    path = tmp_path / "labels.csv"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    path.write_text(f"path,label,\n{decomposed},good,\nown/train/unlabeled/b.png,anomaly,,\n")
    assert read_labels(path, keys) == {composed: 0, "own/train/unlabeled/b.png": 1}


def test_labels_csv_paths_must_be_this_pools_keys(tmp_path):
    keys = ["own_pool/train/unlabeled/img_000.png"]
    path = tmp_path / "labels.csv"
    path.write_text("path,label\n/some/other/disk/own_pool/train/unlabeled/img_000.png,good\n")
    with pytest.raises(AsalError, match=r"Line 2 .*not an image of this pool; a path is a "
                                        r"pool key such as 'own_pool/train/unlabeled/img_000"):
        read_labels(path, keys, data_root=tmp_path / "data")
    # the key, or the key under this data root, are this pool's images
    for given in (keys[0], f"{tmp_path}/data/{keys[0]}", f"data/{keys[0]}"):
        path.write_text(f"path,label\n{given},good\n")
        assert read_labels(path, keys, data_root=tmp_path / "data") == {keys[0]: 0}


# ------------------------------------------------------------------------- the CLI

def test_make_synthetic_writes_only_below_its_destination(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    out = subprocess.run([sys.executable, "-m", "asal", "make-synthetic", "--dest",
                          str(tmp_path / "x"), "--categories", "synth_tiles", "--n-images",
                          "20", "--size", "32"], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert list(cwd.iterdir()) == []
    assert (tmp_path / "x" / "samples.png").exists()


def test_waiting_for_labels_on_a_folder_that_is_no_run(tmp_path, capsys):
    assert main(["waiting-for-labels", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere does not exist, so it is not an active-learning run folder" in err


def test_version_and_the_command_groups(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"asal {version('asal')}\n"
    script = Path(sys.executable).parent / "asal"      # the console script pip installed
    out = subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout
    users, _, maintainers = out.partition("commands that rebuild the project's own")
    assert out.startswith("usage: asal ") and "  predict " in users and "  prepare-elpv" in users
    assert "  write-reference" in maintainers and "write-reference" not in users


def test_every_option_has_help_and_help_shows_defaults():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.option_strings or action.dest}"
        text = command.format_help()
        if any(a.default not in (None, False) for a in command._actions if a.dest != "help"):
            assert "(default:" in text, name


def test_messages_show_paths_where_they_are():
    assert shown(PROJECT_ROOT / "runs" / "x") == "runs/x"
    assert shown("/elsewhere/runs/x") == "/elsewhere/runs/x"


def test_labeler_puts_names_into_html_as_text(tmp_path, unlabeled_root):
    import shutil

    from asal.stages.labeler import LabelSession

    shutil.copytree(unlabeled_root / "own", tmp_path / "data" / "<i>own</i>")
    cfg = resolve(category="<i>own</i>", data_root=str(tmp_path / "data"),
                  runs_root=str(tmp_path / "runs"), oracle="file")
    session = LabelSession(cfg)                 # no to_label.csv: nothing to label
    caption = session.caption()
    assert "No run of 03 in" in caption and "&lt;i&gt;own&lt;/i&gt;" in caption
    assert "<i>" not in caption
    key = session.pool_keys[0]                  # one image asked for, and labeled
    session.items, session.labels, session.position = [key], {key: 0}, 1
    session.labels_file = tmp_path / "<b>mine</b>.csv"
    caption = session.caption()
    assert "All 1 images are labeled" in caption and "&lt;b&gt;mine&lt;/b&gt;.csv" in caption
    assert "<b>" not in caption
