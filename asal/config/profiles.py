"""Profiles and the one resolution of parameters, for the notebooks and the workflow alike.

A profile (params/<name>.yaml) gives parameters values; it may start from another with
`extends: <name or path>` and hold only what differs. Resolution, in order of precedence:
explicit values (papermill -p, function arguments, Snakemake --config), then the
environment's roots (ASAL_DATA, ASAL_RUNS, ASAL_FIGURES), then the profile, then the
schema's defaults (asal/config/schema.py). `profile="auto"` picks `mvtec` for the 15
MVTec AD category names and `synthetic` otherwise. Relative paths are taken from the
project root, so a notebook finds `data/` wherever it runs.
"""

from __future__ import annotations

import difflib
import os
import types
from pathlib import Path

import yaml
from pydantic import ValidationError

from asal.categories import MVTEC_CATEGORIES
from asal.config.schema import PATH_KEYS, Params
from asal.errors import AsalError
from asal.io import write_text
from asal.project import PARAMS_DIR, PROJECT_ROOT, absolute, shown

ENV_ROOTS = {"data_root": "ASAL_DATA", "runs_root": "ASAL_RUNS", "figures_root": "ASAL_FIGURES"}
FIELDS = Params.model_fields
EXTENDS = "extends"


def profile_path(profile: str, category: str | None = None, base: Path = PARAMS_DIR) -> Path:
    """params/<name>.yaml for a name, the file itself for a path, mvtec/synthetic for auto."""
    if profile == "auto":
        profile = "mvtec" if category in MVTEC_CATEGORIES else "synthetic"
    path = Path(profile)
    if path.suffix not in (".yaml", ".yml"):
        path = PARAMS_DIR / f"{profile}.yaml"
    elif not path.is_absolute():
        path = next((p for p in (base / path, path, PROJECT_ROOT / path) if p.exists()), path)
    if not path.exists():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
        raise AsalError(f"Profile '{profile}' not found at {path}; use one of {known} "
                        "or the path of a params YAML file.")
    return path


def unknown_key_message(key: str, where: str) -> str:
    close = difflib.get_close_matches(key, FIELDS, n=1)
    hint = (f"did you mean '{close[0]}'?" if close
            else "docs/parameters.md lists the known ones.")
    return f"Unknown parameter '{key}' in {where}; {hint}"


def load_profile(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A profile's values, those of the profile it extends first; keys checked per file."""
    path = Path(path).resolve()
    if path in seen:
        chain = " extends ".join(p.name for p in (*seen, path))
        raise AsalError(f"Profiles extend each other in a cycle ({chain}); remove one "
                        f"`{EXTENDS}:`.")
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise AsalError(f"{path} must hold a mapping of parameter names to values.")
    for key in raw:
        if key != EXTENDS and key not in FIELDS:
            raise AsalError(unknown_key_message(key, str(path)))
    parent = raw.pop(EXTENDS, None)
    values = load_profile(profile_path(str(parent), base=path.parent), (*seen, path)) \
        if parent else {}
    return {**values, **raw}


def validate(values: dict, where: str, explicit=(), explicit_where: str = "") -> Params:
    """The schema's check of every value; its first complaint as one sentence, naming
    where the value came from (the profile, or `explicit_where` for the explicit ones)."""
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    try:
        return Params(**values)
    except ValidationError as err:
        error = err.errors()[0]
        key = (error.get("loc") or ("",))[0]
        source = explicit_where if key in explicit and explicit_where else where
        raise AsalError(_message(error, values, source)) from None


def _message(error: dict, values: dict, where: str) -> str:
    loc = error.get("loc") or ()
    expect = error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    if not loc:                                 # a rule across parameters
        return f"The parameters of {where} do not fit together: {expect}."
    key = loc[0]
    if error["type"] == "extra_forbidden":
        return unknown_key_message(key, where)
    if error["type"] == "missing":
        return f"Parameter '{key}' has no value; set it in {where} or pass it explicitly."
    return f"Parameter '{key}' in {where} must be {expect}, not {values.get(key)!r}."


def _merge(path: Path, explicit: dict) -> dict:
    values = load_profile(path)
    for key, env in ENV_ROOTS.items():   # between the profile and explicit values
        if env in os.environ and key not in explicit:
            values[key] = os.environ[env]
    values.update(explicit)
    if values.get("tie_seeds"):         # seed k is a whole replicate
        for key in ("scorer_seed", "pretext_seed"):
            if key not in explicit:
                values[key] = values.get("seed", FIELDS["seed"].default)
    if values.get("exp") is None:
        values["exp"] = path.stem
    for key in PATH_KEYS:
        value = values.get(key, FIELDS[key].default)
        if value is not None:
            values[key] = absolute(value)
    # a profile the workflow wrote names the profile it was resolved from
    return {**values, "profile": values.get("profile") or path.stem}


def resolve(profile: str = "auto", category: str | None = None,
            where: str = "the explicit parameters", **overrides) -> Params:
    """The parameters of one run: profile values, then every override that is not None
    (`where` names the overrides in messages)."""
    path = profile_path(profile, category)
    explicit = {k: v for k, v in overrides.items() if v is not None}
    for key in explicit:
        if key not in FIELDS:
            raise AsalError(unknown_key_message(key, where))
    if category is not None:
        explicit["category"] = category
    return validate(_merge(path, explicit), shown(path), explicit, where)


# Names a fresh IPython namespace holds before the parameters cell runs.
_NOTEBOOK_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def resolve_notebook(namespace: dict) -> Params:
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
        if name != "profile" and name not in FIELDS:
            raise AsalError(unknown_key_message(name, "the notebook parameters"))
        given[name] = value
    profile = given.pop("profile", "auto")
    category = given.pop("category", None)
    cfg = resolve(profile, category=category, **given)
    namespace.setdefault("_asal_names_at_resolve", set(namespace))
    return cfg


# ------------------------------------------------------------------------ the workflow

def _typed(value):
    """Snakemake reads `--config seeds=[0]` as ['0']; YAML gives items their type."""
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def resolve_workflow(profile: str, overrides: dict) -> Params:
    """The workflow's parameters: a profile and Snakemake's --config, checked once, before
    any job runs (an unknown or ill-typed key stops Snakemake with the schema's message)."""
    given = {k: _typed(v) for k, v in overrides.items()}
    if "category" in given:
        raise AsalError("--config category is one job's parameter; give the experiment's "
                        "categories as --config 'categories=[a,b]'.")
    return resolve(profile, where="--config", **given)


def write_profile(cfg: Params, path) -> None:
    """The resolved parameters as a complete profile (what every job of a workflow runs
    with), unless the file already holds them."""
    values = {k: v for k, v in cfg.record().items() if k != "category"}
    text = ("# Resolved by the workflow from the profile and --config: every job runs with "
            "it.\n" + yaml.safe_dump(values, sort_keys=False))
    path = Path(path)
    if not path.exists() or path.read_text() != text:
        write_text(path, text)
