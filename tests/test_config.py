import pytest

from asal.config import PROJECT_ROOT, SCHEMA, resolve, resolve_notebook
from asal.errors import AsalError


def test_auto_profile_by_category():
    assert resolve(category="bottle").profile == "mvtec"
    assert resolve(category="bottle").image_size == 256
    assert resolve(category="synth_fabric").profile == "synthetic"
    assert resolve(category="my_parts").profile == "synthetic"


def test_explicit_values_win_and_paths_resolve():
    cfg = resolve(category="bottle", epochs=3, image_size=64, data_root="/tmp/x")
    assert (cfg.epochs, cfg.image_size, cfg.data_root) == (3, 64, "/tmp/x")
    assert cfg.exp == "mvtec"
    assert cfg.run_dir.as_posix().endswith("runs/mvtec/bottle")


def test_every_profile_sets_every_required_key():
    for profile in ("synthetic", "mvtec"):
        cfg = resolve(profile, category="x")
        assert set(SCHEMA) <= set(cfg)


def test_unknown_key_names_it_and_suggests():
    with pytest.raises(AsalError, match="Unknown parameter 'epoch'.*'epochs'"):
        resolve(category="synth_fabric", epoch=3)


@pytest.mark.parametrize("key,value,pattern", [
    ("epochs", "3", "'epochs'.*type int"),
    ("epochs", 0, "'epochs'.*positive"),
    ("image_size", 100, "'image_size'.*multiple of 32"),
    ("lr", True, "'lr'.*type float"),
    ("protocol", "papr", "'protocol'"),
])
def test_wrong_type_or_range_names_the_key(key, value, pattern):
    with pytest.raises(AsalError, match=pattern):
        resolve(category="synth_fabric", **{key: value})


def test_notebook_namespace_rejects_a_mistyped_parameter():
    ns = {"category": "synth_fabric", "profile": "auto", "epochs": None, "In": [],
          "_": None}
    assert resolve_notebook(dict(ns)).epochs == resolve(category="synth_fabric").epochs
    assert resolve_notebook({**ns, "epochs": 3}).epochs == 3
    with pytest.raises(AsalError, match="'epochz'"):
        resolve_notebook({**ns, "epochz": 5})


def test_roots_from_environment_sit_between_profile_and_explicit_values(monkeypatch):
    monkeypatch.setenv("ASAL_DATA", "/srv/images")
    monkeypatch.setenv("ASAL_RUNS", "/scratch/runs")
    monkeypatch.delenv("ASAL_FIGURES", raising=False)
    cfg = resolve(category="bottle")
    assert cfg.data_root == "/srv/images" and cfg.runs_root == "/scratch/runs"
    assert cfg.figures_root == str(PROJECT_ROOT / "figures")        # the profile's
    assert resolve(category="bottle", runs_root="/mine").runs_root == "/mine"


def test_run_all_twice_in_one_kernel_passes_over_what_the_notebook_made():
    ns = {"category": "synth_fabric", "profile": "auto", "epochs": None}
    assert resolve_notebook(ns).epochs == resolve(category="synth_fabric").epochs
    ns.update(cfg={"a": 1}, where="runs/x", table=None)     # the notebook's own cells
    assert resolve_notebook(ns).category == "synth_fabric"
    with pytest.raises(AsalError, match="Unknown parameter 'cfg'"):     # a fresh kernel
        resolve_notebook({k: v for k, v in ns.items() if not k.startswith("_")})
