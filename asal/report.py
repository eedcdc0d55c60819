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


# value columns per Markdown table: a wider one is shown as several, so each fits a page
# of 1280 px; an even number keeps the mean beside its std (and AUROC beside balanced
# accuracy) in the tables that pair them
WIDEST = 6


def key_columns(frame: pd.DataFrame) -> list[str]:
    """The leading columns that name a row (text, not numbers): category, share, init..."""
    keys = []
    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]):
            break
        keys.append(name)
    return keys


def table_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A table as Markdown: numbers to `digits` places, no index, names unwrapped. One
    with more than WIDEST value columns is cut into tables of WIDEST, one under the other,
    each with the key columns first (the CSV beside it keeps the table whole)."""
    keys = key_columns(frame)
    values = [c for c in frame.columns if c not in keys]
    parts = [frame[keys + values[i:i + WIDEST]] for i in range(0, len(values), WIDEST)] \
        if len(values) > WIDEST else [frame]
    return "\n\n".join(p.to_markdown(index=False, floatfmt=f".{digits}f") for p in parts)


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
