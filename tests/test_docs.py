"""The documents generated from the schema are current, every notebook documents its
parameters, and the documentation site builds without a warning."""

import re
import subprocess
import sys

import pytest

from asal.project import PROJECT_ROOT
from asal.tools.reference import NOTEBOOK_PARAMETERS, stale


def test_parameter_reference_and_parameters_cells_are_generated_from_the_schema():
    assert stale() == [], "run `asal write-reference`"


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_PARAMETERS))
def test_help_notebook_types_and_explains_every_parameter(notebook):
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook",
                          str(PROJECT_ROOT / "notebooks" / f"{notebook}.ipynb")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listed = re.findall(r"^  (\w+): (\S+) \(default", out.stdout, re.M)
    assert [name for name, _ in listed] == NOTEBOOK_PARAMETERS[notebook]
    assert "Unknown type" not in out.stdout
    helps = re.findall(r"^  \w+: .*\n\s{20,}(\S.*)$", out.stdout, re.M)
    assert len(helps) == len(listed)


PASSED = re.compile(r"-p (\w+) ")
NOTEBOOK_ON_LINE = re.compile(r"notebooks/(\d\d_\w+)\.ipynb")


def test_every_parameter_the_docs_pass_is_one_the_notebook_lists():
    """`papermill --help-notebook` lists what the pages tell users to pass with -p: the
    notebook named on the line, or the notebook of own-images.md's step 3 (03)."""
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    every = set().union(*NOTEBOOK_PARAMETERS.values())
    for page in pages:
        for line in page.read_text().splitlines():
            if "stops with one sentence" in line:      # a mistyped name, shown on purpose
                continue
            named = NOTEBOOK_ON_LINE.findall(line)
            step_3 = page.name == "own-images.md" and "step 3" in line
            listed = (set(NOTEBOOK_PARAMETERS[named[0]]) if named else
                      set(NOTEBOOK_PARAMETERS["03_active_learning"]) if step_3 else every)
            for name in PASSED.findall(line):
                assert name in listed, f"{page.name}: -p {name} is not a parameter there"


def test_the_documentation_site_builds_strictly(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(tmp_path / "site")], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "site" / "parameters" / "index.html").exists()
    assert (tmp_path / "site" / "notebooks" / "03_active_learning" / "index.html").exists()
    results = (tmp_path / "site" / "results" / "index.html").read_text()
    assert "asal_rotation_mean" in results            # the generated table, included
    # 05 on the site: the labeler as a picture and as static HTML, never a widget's repr
    # or a scratch folder of the run that stored it
    label = (tmp_path / "site" / "notebooks" / "05_label" / "index.html").read_text()
    assert "labeler.png" in label and "VBox(" not in label and "HTML(value=" not in label
    assert not re.search(r"/tmp/|asal-refresh|asal-tests|pytest-of", label)
