import pytest

from asal.config.layout import RunLayout
from asal.config.profiles import FIELDS, resolve, resolve_notebook
from asal.errors import AsalError
from asal.project import PROJECT_ROOT


def test_auto_profile_by_category():
    assert resolve(category="bottle").profile == "mvtec"
    assert resolve(category="bottle").image_size == 256
    assert resolve(category="synth_fabric").profile == "synthetic"
    assert resolve(category="my_parts").profile == "synthetic"


def test_explicit_values_win_and_paths_resolve():
    cfg = resolve(category="bottle", epochs=3, image_size=64, data_root="/tmp/x")
    assert (cfg.epochs, cfg.image_size, cfg.data_root) == (3, 64, "/tmp/x")
    assert cfg.exp == "mvtec"
    assert RunLayout.of(cfg).category("bottle").as_posix().endswith("runs/mvtec/bottle")


def test_every_profile_sets_every_required_key():
    for profile in ("synthetic", "mvtec"):
        cfg = resolve(profile, category="x")
        assert set(FIELDS) <= set(cfg.model_dump())


def test_unknown_key_names_it_and_suggests():
    with pytest.raises(AsalError, match="Unknown parameter 'epoch'.*'epochs'"):
        resolve(category="synth_fabric", epoch=3)


@pytest.mark.parametrize("key,value,pattern", [
    ("epochs", "3", "'epochs' in the explicit parameters must be a valid integer, not '3'"),
    ("epochs", 0, "'epochs' .* must be greater than 0, not 0"),
    ("image_size", 100, "'image_size' .* must be a multiple of 32, not 100"),
    ("lr", True, "'lr' .* must be a valid number, not True"),
    ("protocol", "papr", "'protocol' .* must be 'clean' or 'paper', not 'papr'"),
    ("init", "kmeans", "'init' .* must be 'asal', 'random', .*, not 'kmeans'"),
    ("pretrained", "nowhere.pt", "'pretrained' .* must be none, imagenet, self_supervised or "
                                 "the path of a ResNet18 state_dict .*nowhere.pt does not exist"),
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


def _profiles(tmp_path, **texts):
    for name, text in texts.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def test_a_profile_that_extends_another_gets_its_values_and_its_own(tmp_path):
    base = resolve("synthetic", category="synth_fabric")
    folder = _profiles(tmp_path, child="extends: synthetic\nepochs: 3\nseeds: [7]\n",
                       grandchild="extends: child.yaml\nlr: 0.5\n")
    child = resolve(str(folder / "child.yaml"), category="synth_fabric")
    assert (child.epochs, child.seeds, child.exp) == (3, [7], "child")
    assert child.image_size == base.image_size and child.freeze_body == base.freeze_body
    grand = resolve(str(folder / "grandchild.yaml"), category="synth_fabric")
    assert (grand.lr, grand.epochs, grand.exp) == (0.5, 3, "grandchild")


def test_a_cycle_of_extends_is_refused(tmp_path):
    folder = _profiles(tmp_path, a="extends: b.yaml\nepochs: 3\n", b="extends: a.yaml\n")
    with pytest.raises(AsalError, match=r"Profiles extend each other in a cycle \(a.yaml "
                                        r"extends b.yaml extends a.yaml\)"):
        resolve(str(folder / "a.yaml"))


def test_an_unknown_key_in_a_parent_profile_names_that_file(tmp_path):
    folder = _profiles(tmp_path, parent="extends: synthetic\nepochz: 3\n",
                       child="extends: parent.yaml\n")
    with pytest.raises(AsalError, match=r"Unknown parameter 'epochz' in .*parent.yaml; did "
                                        r"you mean 'epochs'\?"):
        resolve(str(folder / "child.yaml"))


def test_tied_seeds_make_seed_k_a_whole_replicate(tmp_path):
    folder = _profiles(tmp_path, tied="extends: synthetic\ntie_seeds: true\n")
    cfg = resolve(str(folder / "tied.yaml"), category="synth_fabric", seed=3)
    assert (cfg.seed, cfg.scorer_seed, cfg.pretext_seed) == (3, 3, 3)
    given = resolve(str(folder / "tied.yaml"), category="synth_fabric", seed=3, scorer_seed=1)
    assert (given.scorer_seed, given.pretext_seed) == (1, 3)          # explicit wins
    free = resolve("synthetic_coldstart", category="synth_fabric", seed=3)
    assert (free.scorer_seed, free.pretext_seed) == (0, 0)


def test_a_fitted_head_without_a_frozen_body_is_refused_at_once():
    with pytest.raises(AsalError, match="do not fit together: head lbfgs fits a logistic "
                                        "regression on a frozen body's features"):
        resolve(category="synth_fabric", head="lbfgs", freeze_body=False)


def test_a_runs_record_names_the_cpu_it_ran_on():
    import torch

    from asal.provenance import provenance

    cpu = provenance(torch.device("cpu"))["cpu"]
    assert cpu and cpu != "unknown" and "\n" not in cpu


def test_no_committed_run_records_a_parameter_the_schema_no_longer_has():
    """A parameter removed from the schema must leave the committed runs' config.json and
    profile.yaml too: a rebuild writes them without it, so a rebuild that reproduces would
    still change every one of them. (Runs older than a parameter may lack it: they record
    what they ran with.)"""
    import json

    import yaml

    from asal.config.schema import Params

    known = set(Params.model_fields) | {"fingerprint"}      # 01's and 00's own addition
    runs = PROJECT_ROOT / "runs"
    stale = {str(p.relative_to(runs)): sorted(set(json.loads(p.read_text())) - known)
             for p in runs.rglob("config.json") if "own" not in p.relative_to(runs).parts}
    stale.update({str(p.relative_to(runs)): sorted(set(yaml.safe_load(p.read_text())) - known)
                  for p in runs.glob("*/profile.yaml")})
    assert {k: v for k, v in stale.items() if v} == {}
    assert len(stale) > 100            # the committed runs were read


def test_a_parameter_added_later_is_recorded_only_where_a_run_sets_it():
    """RECORDED_IF_SET: at its default a parameter added after runs were committed is in no
    record (config.json, the resolved profile, the loop's fingerprint), so adding it
    rewrites no earlier run; set to another value it is recorded, and a run without it is
    told apart."""
    from asal.config.schema import IDENTITY, RECORDED_IF_SET, Params

    for key in RECORDED_IF_SET:
        assert any(key in names for names in IDENTITY.values())
        cfg = resolve("synthetic", category="synth_fabric")
        default = Params.model_fields[key].default
        assert key not in cfg.record() and key not in cfg.identity("al")
        other = cfg.model_copy(update={key: default + 1})
        assert other.record()[key] == default + 1 and other.identity("al")[key] == default + 1
        assert cfg.first_difference(other.identity("al"), "al") == key
        assert other.first_difference(cfg.identity("al"), "al") == key
        assert cfg.first_difference(cfg.identity("al"), "al") is None
        written = {**cfg.identity("al"), key: default}      # a record that names the default
        assert cfg.first_difference(written, "al") is None
