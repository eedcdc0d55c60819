"""mkdocs hooks (mkdocs.yml `hooks:`): what the site needs that the pages cannot say.

A notebook at notebooks/05_label.ipynb is one folder deeper on the site
(notebooks/05_label/index.html), so a picture it links as `../figures/...`, right in
JupyterLab, would point one folder short on the site; its relative links get one `../` more.
"""

from __future__ import annotations

import re

RELATIVE = re.compile(r'(\s(?:src|href)=")(\.\./)')


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        return RELATIVE.sub(r"\1../\2", html)
    return html
