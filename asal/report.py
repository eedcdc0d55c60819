"""How the notebooks show a result to a reader: tables as Markdown tables with a caption,
figures with a one-line caption, findings as a list. Outside a notebook each shows as text.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd


def _display(markdown: str) -> None:
    try:
        from IPython.display import Markdown, display
    except ImportError:                      # a plain Python session
        print(markdown)
        return
    display(Markdown(markdown))


def table_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A table as Markdown: numbers to `digits` places, no index, names unwrapped."""
    return frame.to_markdown(index=False, floatfmt=f".{digits}f")


def captioned_markdown(frame: pd.DataFrame, caption: str, line: str = "",
                       digits: int = 3) -> str:
    """A table as Markdown under its bold caption (and an italic line below it). The
    caption is HTML-escaped: a `<category>` in it would otherwise be read as a tag and
    vanish from the page."""
    text = f"**{html.escape(caption, quote=False)}**"
    text += f"  \n_{html.escape(line, quote=False)}_\n\n" if line else "\n\n"
    return text + table_markdown(frame, digits) + "\n"


def show_table(frame: pd.DataFrame, caption: str = "", digits: int = 3) -> None:
    _display(captioned_markdown(frame, caption, digits=digits) if caption
             else table_markdown(frame, digits))


def show_figure(path, caption: str) -> None:
    """A figure file with its caption below it; nothing where the file is absent."""
    path = Path(path)
    if not path.exists():
        return
    from IPython.display import Image, display

    display(Image(filename=str(path)))
    _display(f"*{caption}*")


def show_findings(sentences: list[str]) -> None:
    _display("\n".join(f"- {s}" for s in sentences) if sentences else "- no runs to compare")
