"""Documents generated, so that they cannot go stale: from the schema, the parameter
reference (docs/parameters.md) and every notebook's parameters cell (typed, with a
comment per line, which `papermill --help-notebook` prints); from 04's findings, the
answers README quotes between its `<!-- findings: <exp> -->` markers.

    python -m asal write-reference          rewrites both; tests check they are current
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from asal.config.schema import SECTIONS, Params
from asal.project import PROJECT_ROOT

REFERENCE = PROJECT_ROOT / "docs" / "parameters.md"
README = PROJECT_ROOT / "README.md"
FINDINGS_BLOCK = re.compile(r"(<!-- findings: (\S+) -->\n)(.*?)(<!-- /findings -->)", re.S)
NOTEBOOKS = PROJECT_ROOT / "notebooks"
PROFILE_HELP = ("params/<name>.yaml or a path; auto: mvtec for MVTec AD's 15 names, "
                "else synthetic")
# What each notebook exposes, in this order; None-valued ones take the profile's value.
NOTEBOOK_PARAMETERS = {
    "00_pretext": ["category", "profile", "pretext_task", "pretext_seed", "data_root",
                   "runs_root", "exp", "image_size", "synthesis_epochs", "rotation_epochs",
                   "pretext_batch_size", "pretext_lr", "device", "anomaly_source_dir"],
    "01_scores": ["category", "profile", "scorer", "train_on", "scorer_seed", "data_root",
                  "runs_root", "exp", "image_size", "ensemble", "draem_epochs",
                  "draem_batch_size", "draem_lr", "draem_recon_width", "draem_disc_width",
                  "draem_score_filter", "device", "anomaly_source_dir", "scores_csv"],
    "02_split_batches": ["category", "profile", "scorer", "scorer_seed", "data_root",
                         "runs_root", "exp", "n_batches", "batches_dir"],
    "03_active_learning": ["category", "profile", "init", "query", "seed", "scorer",
                           "scorer_seed", "per_batch", "query_size", "query_growth",
                           "query_batch", "head",
                           "pretext_seed", "cycles", "epochs", "protocol", "oracle",
                           "labels_csv", "pretrained", "device", "image_size", "batches_dir",
                           "data_root", "runs_root", "exp"],
    "04_results": ["profile", "exp", "categories", "inits", "seeds", "runs_root",
                   "figures_root", "rankings_dir"],
    "05_label": ["category", "profile", "init", "query", "seed", "data_root", "runs_root",
                 "exp", "labels_csv"],
}
DEFAULT_CATEGORY = "synth_fabric"


def type_name(annotation) -> str:
    """A field's type as a parameters cell writes it (Literal choices are strings)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return type(args[0]).__name__
    if origin in (list,):
        return f"list[{type_name(args[0])}]"
    if args and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return " | ".join(dict.fromkeys(type_name(a) for a in inner))
    if origin is typing.Union or (args and origin is not list):
        return " | ".join(dict.fromkeys(type_name(a) for a in args))
    if args:
        return " | ".join(dict.fromkeys(type_name(a) for a in args))
    return getattr(annotation, "__name__", str(annotation))


def parameters_cell(notebook: str) -> str:
    lines = []
    for name in NOTEBOOK_PARAMETERS[notebook]:
        if name == "profile":
            lines.append(f'profile: str = "auto"  # {PROFILE_HELP}')
        elif name == "category":
            lines.append(f'category: str = "{DEFAULT_CATEGORY}"  # '
                         f'{Params.model_fields[name].description}')
        else:
            field = Params.model_fields[name]
            unset = "" if "None:" in field.description else "; None: the profile's"
            # quoted: papermill's --help-notebook reads no `|`, and the cell needs no import
            lines.append(f'{name}: "Optional[{type_name(field.annotation)}]" = None  # '
                         f"{field.description}{unset}")
    return "\n".join(lines)


def _default(field) -> str:
    if field.is_required():
        return "(the profile's)"
    return f"`{json.dumps(field.default)}`"


def parameter_reference() -> str:
    out = ["# Parameters", "",
           "Generated from the schema (`asal/config/schema.py`; `asal "
           "write-reference`). A profile (`params/*.yaml`, which may `extends:` another) "
           "gives values; explicit values (`papermill -p`, Snakemake `--config`) win over "
           "it; what neither gives takes the default. A field without a default must come "
           "from the profile.", ""]
    for section in SECTIONS:
        out += [f"## {section.__name__}", "", (section.__doc__ or "").strip(), "",
                "| parameter | type | default | meaning |", "|---|---|---|---|"]
        for name, field in section.model_fields.items():
            kind = type_name(field.annotation).replace("|", "or")
            text = field.description.replace("<", "&lt;").replace(">", "&gt;")
            out.append(f"| `{name}` | {kind} | {_default(field)} | {text} |")
        out.append("")
    return "\n".join(out)


def notebook_cells() -> dict[str, tuple[Path, dict, int]]:
    """Each notebook, its JSON, and the index of its cell tagged `parameters`."""
    found = {}
    for name in NOTEBOOK_PARAMETERS:
        path = NOTEBOOKS / f"{name}.ipynb"
        nb = json.loads(path.read_text())
        index = next(i for i, c in enumerate(nb["cells"])
                     if "parameters" in c.get("metadata", {}).get("tags", []))
        found[name] = (path, nb, index)
    return found


def readme_text() -> str:
    """README with each findings block as the experiment's committed findings.md."""
    def block(m: re.Match) -> str:
        findings = PROJECT_ROOT / "figures" / m.group(2) / "findings.md"
        return m.group(1) + findings.read_text() + m.group(4)
    return FINDINGS_BLOCK.sub(block, README.read_text())


def stale() -> list[str]:
    """What differs from the schema or the findings: the reference, README, and notebooks
    by name."""
    out = [] if REFERENCE.exists() and REFERENCE.read_text() == parameter_reference() + "\n" \
        else [str(REFERENCE.relative_to(PROJECT_ROOT))]
    if README.read_text() != readme_text():
        out.append("README.md")
    for name, (_, nb, i) in notebook_cells().items():
        if "".join(nb["cells"][i]["source"]) != parameters_cell(name):
            out.append(f"notebooks/{name}.ipynb")
    return out


def write_reference() -> list[str]:
    """Rewrite what is stale; the paths rewritten."""
    from asal.io import write_text

    written = stale()
    write_text(REFERENCE, parameter_reference() + "\n")
    if "README.md" in written:
        write_text(README, readme_text())
    for name, (path, nb, i) in notebook_cells().items():
        source = parameters_cell(name).splitlines(keepends=True)
        if nb["cells"][i]["source"] != source:
            nb["cells"][i]["source"] = source
            write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return written
