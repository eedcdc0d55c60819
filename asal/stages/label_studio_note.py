"""What a run folder remembers of the Label Studio project it was pushed to
(label_studio.json, written by `asal label-studio push`), for the sentences that name it.
A stage's, not asal/labelstudio/'s: 03 names the project when it stops for labels, and
stages never import the Label Studio round trip, which is built on them."""

from __future__ import annotations

import json
from pathlib import Path

NOTE = "label_studio.json"


def project_note(run_dir) -> str | None:
    """"Label Studio project '<title>' (id N at URL)", or None where the run was never
    pushed (or its note cannot be read)."""
    try:
        note = json.loads((Path(run_dir) / NOTE).read_text())
        return f"Label Studio project '{note['title']}' (id {note['id']} at {note['url']})"
    except (OSError, ValueError, KeyError, TypeError):
        return None
