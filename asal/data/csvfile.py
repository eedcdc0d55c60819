"""Reading the CSV files people write by hand or in a spreadsheet (labels.csv, a
scores_csv): every row with its true line number, blank lines and trailing commas
tolerated, text Unicode-normalised (NFC), so a name typed on one system matches the
same name listed on another.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from asal.errors import AsalError
from asal.text import nfc


def _cells(row: list[str]) -> list[str]:
    cells = [nfc(c.strip()) for c in row]
    while cells and cells[-1] == "":          # a trailing comma, or several
        cells.pop()
    return cells


def read_rows(path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) for every non-blank row of a CSV with a header.

    The header must hold `columns` (others are allowed and kept); a row with more cells
    than the header, or a file that is not CSV text, stops with a sentence naming the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")      # a spreadsheet's byte-order mark
    except UnicodeDecodeError as err:
        raise AsalError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}); save "
                        "it as CSV in UTF-8.") from None
    reader = csv.reader(io.StringIO(text))
    header, rows, start = None, [], 1
    try:
        for row in reader:
            cells, line = _cells(row), start
            start = reader.line_num + 1
            if not cells:
                continue
            if header is None:
                header = cells
                continue
            if len(cells) > len(header):
                raise AsalError(f"Line {line} of {path} has {len(cells)} cells and its header "
                                f"{len(header)} ({','.join(header)}); remove the extra ones.")
            rows.append((line, dict(zip(header, cells + [""] * (len(header) - len(cells))))))
    except csv.Error as err:
        raise AsalError(f"Line {reader.line_num} of {path} is not valid CSV ({err}); fix it "
                        "or restore the file from a copy.") from None
    missing = [c for c in columns if c not in (header or [])]
    if missing:
        raise AsalError(f"{path} needs the columns {' and '.join(columns)}, and it has "
                        f"{header or []}; write its first line as `{','.join(columns)}`.")
    return rows
