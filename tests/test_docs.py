"""The documents generated from the schema are current, every notebook documents its
parameters, and the documentation site builds without a warning."""

import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

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


# the tags a page may hold (clipboard-copy: mkdocs-jupyter's copy button); any other is
# text a Markdown page let the browser swallow (a caption's `<category>`)
HTML_TAGS = set("""a abbr article aside b blockquote body br button caption code col
colgroup dd del details div dl dt em figcaption figure footer form h1 h2 h3 h4 h5 h6 head
header hr html i iframe img input kbd label li link main meta nav noscript ol optgroup
option p path pre script section select small source span strong style sub summary sup svg
table tbody td template textarea tfoot th thead title tr u ul var video g circle rect line
polyline polygon defs use symbol clippath lineargradient stop mark ins time picture
dialog output progress meter wbr clipboard-copy""".split())


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.links, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _target(site, page, url):
    """The file a page's relative URL names in the built site (None for another site)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("#", "mailto:", "data:")):
        return None
    path = (page.parent / unquote(parts.path)).resolve()
    return path / "index.html" if path.is_dir() or not path.suffix else path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(folder)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return folder


def test_every_picture_and_internal_link_of_the_site_resolves_and_no_text_is_a_tag(site):
    broken, swallowed = [], []
    for page in sorted(site.glob("**/*.html")):
        if page.parent.name == "search" or page.name == "404.html":
            continue
        parsed = _Page()
        parsed.feed(page.read_text())
        for url in parsed.images + parsed.links:
            target = _target(site, page, url)
            if target is not None and not target.exists():
                broken.append(f"{page.relative_to(site)}: {url}")
        swallowed += [f"{page.relative_to(site)}: <{t}>" for t in parsed.tags - HTML_TAGS]
    assert broken == [] and swallowed == []


def test_the_home_page_gives_the_answer_and_links_it(site):
    home = _Page()
    home.feed((site / "index.html").read_text())
    assert any(_target(site, site / "index.html", url) == site / "elpv" / "index.html"
               for url in home.links)
    assert any("elpv_coldstart" in src for src in home.images)
    text = (site / "index.html").read_text()
    assert "At the 5 % share of defects" in text and "At the 10 % share" in text
