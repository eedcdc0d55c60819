"""05's labeler without a browser: clicks, keys and back give labels.csv; a session resumes."""

import io

import pandas as pd
import pytest
from PIL import Image

from asal.config.layout import al_dir, batches_dir, labels_path
from asal.config.profiles import resolve
from asal.data.labels import read_to_label
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.labeler import DISPLAY_PX, LabelSession, labeling_widget


@pytest.fixture
def asked(unlabeled_root, tmp_path):
    """A run on the unlabeled pool that waits for the labels of its initial set."""
    cfg = resolve(category="own", data_root=str(unlabeled_root), runs_root=str(tmp_path),
                  image_size=32, device="cpu", cycles=2, epochs=1, pretrained="none",
                  freeze_body=False, head="adam", oracle="file", batches_dir=None)
    folder = batches_dir(cfg)
    folder.mkdir(parents=True)
    truth = pd.read_csv(unlabeled_root / "truth.csv")
    for b in range(5):          # any ranking will do: the pool in file order, cut in five
        (folder / f"batch{b}.txt").write_text("\n".join(truth.path[b * 32:(b + 1) * 32]))
    run_active_learning(cfg, progress=False)
    return cfg


def labels_file(cfg):
    return pd.read_csv(labels_path(cfg)).set_index("path").label.to_dict()


def test_clicks_and_back_write_labels_csv_and_a_new_session_resumes(asked):
    items = read_to_label(al_dir(asked))
    session = LabelSession(asked)
    assert session.items == items and len(items) == 10 and session.position == 0
    assert session.progress() == "1 of 10 (0 labeled)"
    session.give("good")
    session.give("defect")
    assert labels_file(asked) == {items[0]: "good", items[1]: "defect"}
    session.back()                                     # change the second one's label
    assert session.current == items[1] and "labeled <b>defect</b>" in session.caption()
    session.give("good")
    session.press("d")                                 # keys: d defect, g good, b back
    session.press("x")                                 # no shortcut: nothing happens
    assert labels_file(asked) == {items[0]: "good", items[1]: "good", items[2]: "defect"}
    assert session.progress() == "4 of 10 (3 labeled)"

    again = LabelSession(asked)                        # the tab closed and opened again
    assert again.position == 3 and again.current == items[3]
    for _ in range(7):
        again.press("g")
    assert again.done and again.current is None and "Run 03 again" in again.caption()
    assert len(labels_file(asked)) == 10
    # the run takes them and asks for the next one
    result = run_active_learning(asked, progress=False)
    assert len(result.cycles) == 1 and len(result.to_label) == 1
    assert LabelSession(asked).items == result.to_label


def test_the_caption_shows_rank_and_the_image_is_large(asked):
    session = LabelSession(asked)
    rank = pd.read_csv(al_dir(asked) / "to_label.csv")["rank"][0]
    assert f"rank {rank} of 160" in session.caption()
    with Image.open(io.BytesIO(session.image_png())) as img:
        assert max(img.size) == DISPLAY_PX


def test_the_widget_buttons_and_keys_drive_the_session(asked):
    session = LabelSession(asked)
    box = labeling_widget(session)
    caption, _, _, buttons, message = box.children       # caption, pictures, map note, ...
    good, defect, back = buttons.children
    assert "1 of 10" in caption.value
    defect.click()
    good.click()
    back.click()
    assert "2 of 10" in caption.value and "labeled <b>good</b>" in caption.value
    box.key_events._dom_handlers({"event": "keydown", "key": "d"})
    items = session.items
    assert labels_file(asked) == {items[0]: "defect", items[1]: "defect"}
    assert message.value == ""


def test_the_scorers_anomaly_map_stands_beside_the_image(unlabeled_root, tmp_path, asked):
    """Where the scorer that ranked the pool is on disk, 05 shows its map; the map's
    score is 01's score."""
    from asal.config.layout import scores_dir
    from asal.stages.batches import make_batches
    from asal.stages.scores import run_scores

    assert LabelSession(asked).maps is None and LabelSession(asked).map_png() is None
    cfg = resolve(category="own", data_root=str(unlabeled_root), runs_root=str(tmp_path / "d"),
                  image_size=32, device="cpu", cycles=2, epochs=1, pretrained="none",
                  freeze_body=False, head="adam", oracle="file", draem_epochs=1,
                  draem_recon_width=2,
                  draem_disc_width=2, draem_score_filter=3)
    run_scores(cfg, progress=False)
    make_batches(cfg)
    run_active_learning(cfg, progress=False)
    session = LabelSession(cfg)
    key = session.current
    amap, score = session.maps.map_and_score(session.file_of[key])
    scores = pd.read_csv(scores_dir(cfg) / "scores.csv").set_index("path").score
    assert amap.shape == (32, 32) and 0 <= amap.min() <= amap.max() <= 1
    assert score == pytest.approx(scores[key], rel=1e-5)      # float32, batch of one
    with Image.open(io.BytesIO(session.map_png())) as png:
        assert max(png.size) == DISPLAY_PX
    pictures = labeling_widget(session).children[1].children
    assert len(pictures) == 2 and pictures[1].value == session.map_png()   # map beside it
