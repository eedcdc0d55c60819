"""Profiles and parameters: load params/*.yaml, validate every value, resolve paths.

A profile (params/<name>.yaml) gives every parameter a value; explicit values win over
it. `profile="auto"` picks `mvtec` for the 15 MVTec AD category names and `synthetic`
otherwise. Relative paths are taken from the project root (the folder holding params/),
so a notebook resolves `data/` the same way whatever its working directory is.
"""

from __future__ import annotations

import difflib
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from asal.errors import AsalError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PARAMS_DIR = Path(os.environ.get("ASAL_PARAMS", PROJECT_ROOT / "params"))

# Roots that an environment variable overrides (below explicit values, above the profile).
ENV_ROOTS = {"data_root": "ASAL_DATA", "runs_root": "ASAL_RUNS", "figures_root": "ASAL_FIGURES"}

MVTEC_CATEGORIES = (
    "bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut",
    "pill", "screw", "tile", "toothbrush", "transistor", "wood", "zipper",
)
# The paper turns these categories to 3-channel grayscale before the classifier.
GRAYSCALE_CATEGORIES = ("grid", "screw", "zipper")


@dataclass(frozen=True)
class Param:
    kind: str                      # "int", "float", "str", "bool", "str|none", "list[str]", ...
    check: Callable[[Any], bool] | None = None
    expect: str = ""               # what `check` wants, for the error message
    default: Any = None            # used when a profile leaves the key out
    optional: bool = False         # None is a legal value


def _positive(x):
    return x > 0


def _non_negative(x):
    return x >= 0


def _image_size(x):
    # Both DRAEM networks pool 5 times and the Perlin grid goes up to 32 cells.
    return 32 <= x <= 2048 and x % 32 == 0


SCHEMA: dict[str, Param] = {
    # where and what
    "category": Param("str", optional=True),
    "data_root": Param("str", optional=True),
    "runs_root": Param("str", default="runs"),
    "figures_root": Param("str", default="figures"),
    "exp": Param("str", optional=True),
    "seed": Param("int", _non_negative, "a non-negative integer", default=0),
    "device": Param("str", lambda x: x in ("auto", "cpu", "cuda") or x.startswith("cuda:"),
                    "'auto', 'cpu', 'cuda' or 'cuda:N'", default="auto"),
    # CPU threads for torch; 0 keeps torch's default (all cores). Results on the CPU depend
    # on the thread count, so the synthetic profile fixes it to give the same numbers anywhere.
    "cpu_threads": Param("int", _non_negative, "a non-negative integer", default=0),
    "image_size": Param("int", _image_size, "a multiple of 32 between 32 and 2048"),
    "grayscale": Param("bool|str", lambda x: x in (True, False, "auto"),
                       "true, false or 'auto'", default="auto"),
    # 01_scores: DRAEM
    "train_on": Param("str", lambda x: x in ("mixed", "normal"), "'mixed' or 'normal'",
                      default="mixed"),
    "draem_epochs": Param("int", _positive, "a positive integer"),
    "draem_batch_size": Param("int", _positive, "a positive integer", default=8),
    "draem_lr": Param("float", _positive, "a positive number", default=1e-4),
    "draem_recon_width": Param("int", _positive, "a positive integer"),
    "draem_disc_width": Param("int", _positive, "a positive integer"),
    "draem_checkpoint_every": Param("int", _positive, "a positive integer", default=10),
    # The paper's 21x21 mean filter is for 256 px images; it scales with the image size.
    "draem_score_filter": Param("int", lambda x: x >= 1 and x % 2 == 1,
                                "a positive odd integer", default=21),
    "anomaly_source_dir": Param("str", optional=True),
    "scores_csv": Param("str", optional=True),
    # 00_pretext: self-supervised pretraining on the unlabeled pool (asal/pretext.py)
    "pretext_task": Param("str", lambda x: x in ("synthesis", "rotation"),
                          "'synthesis' or 'rotation'", default="synthesis"),
    # passes over the pool; a rotation pass shows every image 4 times (0/90/180/270 degrees)
    "synthesis_epochs": Param("int", _positive, "a positive integer", default=40),
    "rotation_epochs": Param("int", _positive, "a positive integer", default=15),
    "pretext_batch_size": Param("int", lambda x: x >= 2, "an integer of at least 2",
                                default=32),
    "pretext_lr": Param("float", _positive, "a positive number", default=1e-3),
    "pretext_seed": Param("int", _non_negative, "a non-negative integer", default=0),
    # 02_split_batches
    "n_batches": Param("int", _positive, "a positive integer", default=5),
    "batches_dir": Param("str", optional=True),
    # 03_active_learning
    "init": Param("str", default="asal"),
    # where the loop's labels come from: "folders" (good/ and anomaly/, a simulation) or
    # "file" (labels.csv, given by a person; asal/oracle.py)
    "oracle": Param("str", lambda x: x in ("folders", "file"), "'folders' or 'file'",
                    default="folders"),
    "labels_csv": Param("str", optional=True),     # None: runs/<exp>/<category>/labels.csv
    "per_batch": Param("int", _positive, "a positive integer", default=2),
    "query": Param("str", default="least_confidence"),
    "query_size": Param("int", _positive, "a positive integer", default=1),
    "cycles": Param("int", _positive, "a positive integer", default=10),
    "epochs": Param("int", _positive, "a positive integer", default=20),
    "batch_size": Param("int", _positive, "a positive integer", default=10),
    "lr": Param("float", _positive, "a positive number", default=1e-3),
    # train only the new head on a frozen pretrained body (its BatchNorm statistics too):
    # fine-tuning all of ResNet18 on 10-19 images undid what pretraining had learned
    "freeze_body": Param("bool", default=False),
    "weight_decay": Param("float", _non_negative, "a non-negative number", default=5e-4),
    # 'none', 'imagenet' (the paper), 'self_supervised' (stage 00's network of the
    # category) or the path of a ResNet18 state_dict
    "pretrained": Param("str", default="none"),
    "protocol": Param("str", lambda x: x in ("clean", "paper"), "'clean' or 'paper'",
                      default="clean"),
    "reinit_each_cycle": Param("bool", default=False),
    # test metrics of every epoch (metrics_epoch.csv), not only the reported last one;
    # protocol "paper" always evaluates every epoch
    "eval_every_epoch": Param("bool", default=False),
    "normalize_mean": Param("list[float]", lambda x: len(x) == 3, "three numbers",
                            default=[0.3337, 0.3064, 0.3171]),
    "normalize_std": Param("list[float]", lambda x: len(x) == 3 and min(x) > 0,
                           "three positive numbers", default=[0.2672, 0.2564, 0.2629]),
    # 04_results: a folder of <category>/batch0.txt .. whose premise table 04 shows
    "rankings_dir": Param("str", optional=True),
    # workflow: also train DRAEM on the good images only, for 04's DRAEM_normal baseline
    "draem_normal": Param("bool", default=True),
    "categories": Param("list[str]", lambda x: len(x) > 0, "a non-empty list", default=[]),
    "inits": Param("list[str]", lambda x: len(x) > 0, "a non-empty list",
                   default=["asal", "random"]),
    "seeds": Param("list[int]", lambda x: len(x) > 0 and min(x) >= 0,
                   "a non-empty list of non-negative integers", default=[0, 1, 2]),
}


class Config(dict):
    """A validated parameter set; values read as attributes (`cfg.image_size`)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def run_dir(self) -> Path:
        """runs/<exp>/<category>: every output of this category lives below it."""
        if not self["category"]:
            raise AsalError("This step works on one category; pass -p category <name>.")
        return Path(self["runs_root"]) / self["exp"] / self["category"]

    @property
    def figures_dir(self) -> Path:
        return Path(self["figures_root"]) / self["exp"]

    @property
    def use_grayscale(self) -> bool:
        if self["grayscale"] == "auto":
            return self["category"] in GRAYSCALE_CATEGORIES
        return bool(self["grayscale"])


def _type_ok(kind: str, value) -> bool:
    def scalar(k, v):
        if k == "int":
            return isinstance(v, int) and not isinstance(v, bool)
        if k == "float":
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        if k == "str":
            return isinstance(v, str)
        if k == "bool":
            return isinstance(v, bool)
        raise AssertionError(k)

    if kind.startswith("list["):
        inner = kind[5:-1]
        return isinstance(value, (list, tuple)) and all(scalar(inner, v) for v in value)
    return any(scalar(k, value) for k in kind.split("|"))


def _unknown_key_message(key: str, where: str) -> str:
    close = difflib.get_close_matches(key, SCHEMA, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see asal/config.py for the known ones."
    return f"Unknown parameter '{key}' in {where}; {hint}"


def validate(values: dict, where: str = "the parameters") -> dict:
    """Check names, types and ranges; return a copy with floats as floats."""
    out = {}
    for key, value in values.items():
        if key not in SCHEMA:
            raise AsalError(_unknown_key_message(key, where))
        p = SCHEMA[key]
        if value is None:
            if not p.optional:
                raise AsalError(f"Parameter '{key}' in {where} is empty; give it a value "
                                f"({p.kind}).")
            out[key] = None
            continue
        if not _type_ok(p.kind, value):
            raise AsalError(f"Parameter '{key}' in {where} must be of type {p.kind}, "
                            f"not {type(value).__name__} ({value!r}).")
        if p.check is not None and not p.check(value):
            raise AsalError(f"Parameter '{key}' in {where} must be {p.expect}, "
                            f"not {value!r}.")
        if p.kind == "float":
            value = float(value)
        elif p.kind == "list[float]":
            value = [float(v) for v in value]
        elif p.kind.startswith("list["):
            value = list(value)
        out[key] = value
    return out


def profile_path(profile: str, category: str | None) -> Path:
    """params/<name>.yaml for a name, the file itself for a path, mvtec/synthetic for auto."""
    if profile == "auto":
        profile = "mvtec" if category in MVTEC_CATEGORIES else "synthetic"
    path = Path(profile)
    if path.suffix not in (".yaml", ".yml"):
        path = PARAMS_DIR / f"{profile}.yaml"
    elif not path.is_absolute():
        path = path if path.exists() else PROJECT_ROOT / path
    if not path.exists():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise AsalError(f"Profile '{profile}' not found at {path}; use one of {known} "
                        "or the path of a params YAML file.")
    return path


def load_profile(path: Path) -> dict:
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise AsalError(f"{path} must hold a mapping of parameter names to values.")
    return validate(raw, where=str(path))


def shown(path) -> str:
    """A path as a message shows it: relative to the project folder when inside it."""
    path = Path(path)
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _resolve_path(value: str) -> str:
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else PROJECT_ROOT / path)


def resolve(profile: str = "auto", category: str | None = None, **overrides) -> Config:
    """The parameters of one run: profile values, then every override that is not None."""
    path = profile_path(profile, category)
    values = {k: p.default for k, p in SCHEMA.items()}
    values.update(load_profile(path))
    if category is not None:
        overrides["category"] = category
    explicit = validate({k: v for k, v in overrides.items() if v is not None},
                        where="the explicit parameters")
    values.update(explicit)
    missing = [k for k, v in values.items() if v is None and not SCHEMA[k].optional]
    if missing:
        raise AsalError(f"Parameter '{missing[0]}' has no value; set it in {path} or pass "
                        "it explicitly.")
    if values["exp"] is None:
        values["exp"] = path.stem
    if values["data_root"] is None:
        values["data_root"] = "data"
    # The environment moves the three roots away from the project folder (the tests use it
    # to leave the checkout alone); an explicit value still wins.
    for key, env in ENV_ROOTS.items():
        if env in os.environ and key not in explicit:
            values[key] = os.environ[env]
    for key in ("data_root", "runs_root", "figures_root", "anomaly_source_dir", "scores_csv",
                "batches_dir", "rankings_dir", "labels_csv"):
        if values[key] is not None:
            values[key] = _resolve_path(values[key])
    values["profile"] = path.stem
    return Config(values)


# Names a fresh IPython namespace holds before the parameters cell runs.
_NOTEBOOK_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def resolve_notebook(namespace: dict) -> Config:
    """Resolve the parameters a notebook holds after papermill injected its values.

    Every plain value in the namespace must be a known parameter (or `profile`), so a
    mistyped `-p epochz 5` stops here instead of being ignored. Run All a second time in
    the same kernel (as a person does in 05) finds the names the notebook's own cells made
    the first time; those are not parameters and are passed over.
    """
    made_later = set(namespace) - namespace.get("_asal_names_at_resolve", set(namespace))
    given = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in _NOTEBOOK_NAMES or name in made_later:
            continue
        if isinstance(value, (types.ModuleType, types.FunctionType, type)):
            continue
        if name != "profile" and name not in SCHEMA:
            raise AsalError(_unknown_key_message(name, "the notebook parameters"))
        given[name] = value
    profile = given.pop("profile", "auto")
    category = given.pop("category", None)
    cfg = resolve(profile, category=category, **given)
    namespace.setdefault("_asal_names_at_resolve", set(namespace))
    return cfg
