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
