"""Every CSV Farewell writes goes through `write_csv`, which neutralises cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

#: A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefixes formula-like text with an apostrophe, which spreadsheets show as text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return out.getvalue()


def read_csv(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and each row with the line it starts on; ValueError when the file isn't a UTF-8 CSV."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from None
    if "\x00" in text:
        raise ValueError("The file contains NUL characters; it doesn't look like a CSV file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise ValueError("The file is empty.") from None
    except csv.Error as error:
        raise ValueError(f"Line 1 is not valid CSV: {error}.") from None
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                padded = cells + [""] * (len(header) - len(cells))
                rows.append((line, {name: padded[i].strip() for i, name in enumerate(header) if name}))
                if len(cells) > len(header):
                    rows[-1][1]["__extra__"] = "yes"
            line = reader.line_num + 1
    except csv.Error as error:
        raise ValueError(f"Line {line} is not valid CSV: {error}.") from None
    return header, rows
