"""Your own data: a CSV file -> Dataset, with an error that names the row and column of the first problem.

File rules (what the page tells students):
- UTF-8 text (a byte-order mark is fine), at most MAX_BYTES bytes and MAX_ROWS data rows, at least
  MIN_ROWS. The delimiter is a comma, or a semicolon or tab when the header has no comma in it.
- The first non-blank row is the header. Columns: if the header names `x1` and `x2` (any case), those
  are the inputs and the label is the column named `label`, `class`, `target` or `y`, else the last
  other column. Otherwise the label is the last column and the inputs are the first two other columns
  holding numbers in the first data row. Other columns are ignored; blank lines are skipped.
- Inputs must be finite numbers within ±MAX_ABS. Labels may be any text up to MAX_LABEL_LENGTH
  characters; they are stored as plain strings, never evaluated (so `=SUM(A1)` is just a class name).
- task "auto": labels that are all numbers, with a non-integer or more than MAX_CLASSES distinct values,
  make a regression set; anything else is classification with 2..MAX_CLASSES classes.
- Classes are ordered by value when every label is a number (so -1/+1 and 0/1 files get TF's colours:
  class 0 orange, class 1 blue), else alphabetically.
Row numbers are the file's line numbers as a spreadsheet shows them: the header is usually row 1.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from engine.data import (
    CUSTOM,
    MAX_CLASS_NAME_LENGTH,
    MAX_CLASSES,
    DataConfig,
    Dataset,
    extent_of,
    split_indices,
)
from engine.errors import WordedError

MAX_BYTES = 1_000_000
MAX_ROWS = 5000
MIN_ROWS = 4
MAX_ABS = 1e6  # larger inputs overflow the activations long before they teach anything
MAX_LABEL_LENGTH = MAX_CLASS_NAME_LENGTH
LABEL_NAMES = ("label", "class", "target", "y")


class CSVError(WordedError):
    """A bad file: str() reads e.g. "row 17, column 'x2': 'abc' is not a number" (`message` made of
    `template` and `values`, engine/errors.py; the app says where as "row {row}, column {column}")."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None,
                 **values: object) -> None:
        message = self.message = self._word(message, values)
        self.row = row
        self.column = column
        where = [f"row {row}"] if row is not None else []
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(", ".join(where) + ": " + message if where else message)


@dataclass
class _Columns:
    x1: int
    x2: int
    label: int
    names: list[str]

    def name(self, index: int) -> str:
        return self.names[index] or f"column {index + 1}"


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CSVError("the file is {size} bytes; the limit is {limit} bytes (1 MB)",
                       size=format(len(data), ","), limit=format(MAX_BYTES, ","))
    if not data.strip():
        raise CSVError("the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise CSVError("the file is not UTF-8 text (byte {byte}); save it as 'CSV UTF-8'", row=row,
                       byte="0x" + format(data[error.start], "02x")) from None


def _shown(text: str) -> str:
    """The offending text as the message quotes it: escaped, and cut short so a message stays a line."""
    return repr(text if len(text) <= 24 else text[:21] + "...")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        for candidate in (";", "\t"):
            if candidate in first:
                return candidate
    return ","


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(row number, fields) for each non-blank record, trailing empty fields beyond the header dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows: list[tuple[int, list[str]]] = []
    record_end = 0  # line where the last good record ended: a broken record starts on the next one
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((reader.line_num, [field.strip() for field in fields]))
            record_end = reader.line_num
            if len(rows) > MAX_ROWS + 1:  # stop early; the row limit reports it
                break
    except csv.Error as error:
        if str(error) == "unexpected end of data":
            raise CSVError('not readable as CSV: a quote (") opened on this row is never closed',
                           row=record_end + 1) from None
        raise CSVError("not readable as CSV: {reason}", row=record_end + 1, reason=str(error)) from None
    return rows


def _columns(header: list[str], first: list[str], header_row: int) -> _Columns:
    if len(header) < 3:
        raise CSVError("the header has {n} column(s); need two input columns and a label column",
                       row=header_row, n=len(header))
    if all(_number(name) is not None for name in header):
        raise CSVError("the first row must be a header of column names; this one holds only numbers",
                       row=header_row)
    lower = [name.lower() for name in header]
    if "x1" in lower and "x2" in lower:
        x1, x2 = lower.index("x1"), lower.index("x2")
        named = [lower.index(name) for name in LABEL_NAMES if name in lower]
        others = [i for i in range(len(header)) if i not in (x1, x2)]
        return _Columns(x1, x2, named[0] if named else others[-1], header)
    label = len(header) - 1
    numeric = [i for i in range(label) if i < len(first) and _number(first[i]) is not None]
    if len(numeric) < 2:
        raise CSVError("need two numeric input columns before the label column (or name them x1 and x2)",
                       row=header_row)
    return _Columns(numeric[0], numeric[1], label, header)


def _input(text: str, row: int, column: str) -> float:
    if text == "":
        raise CSVError("missing value", row=row, column=column)
    value = _number(text)
    if value is None:
        raise CSVError("{value} is not a number", row=row, column=column, value=_shown(text))
    if not math.isfinite(value):
        raise CSVError("{value} is not a finite number", row=row, column=column, value=_shown(text))
    if abs(value) > MAX_ABS:
        raise CSVError("{value} is outside ±{bound}", row=row, column=column, value=text,
                       bound=format(MAX_ABS, ",.0f"))
    return value


def _label_text(text: str, row: int, column: str) -> str:
    if text == "":
        raise CSVError("missing value", row=row, column=column)
    if len(text) > MAX_LABEL_LENGTH:
        raise CSVError("label is longer than {high} characters", row=row, column=column,
                       high=MAX_LABEL_LENGTH)
    if not text.isprintable():
        raise CSVError("label contains control characters", row=row, column=column)
    return text


def _class_labels(texts: list[str], rows: list[int], column: str) -> tuple[np.ndarray, tuple[str, ...]]:
    numbers = [_number(text) for text in texts]
    all_numeric = all(n is not None and math.isfinite(n) for n in numbers)
    # all floats or all strings, so they sort; Any because mypy cannot see that
    keys: list[Any] = [n for n in numbers if n is not None] if all_numeric else list(texts)
    seen: dict[Any, str] = {}
    for key, text, row in zip(keys, texts, rows, strict=True):
        if key not in seen:
            seen[key] = text
            if len(seen) > MAX_CLASSES:
                raise CSVError("more than {high} different labels (classes); at most {high} are allowed",
                               row=row, column=column, high=MAX_CLASSES)
    if len(seen) < 2:
        raise CSVError("every row has the label {only}; need at least two classes", column=column,
                       only=_shown(texts[0]))
    order = sorted(seen)
    names = tuple(_number_name(key) if all_numeric else str(key) for key in order)
    index = {key: i for i, key in enumerate(order)}
    return np.array([index[key] for key in keys], dtype=np.int64), names


def _number_name(value: float | str) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _regression_labels(texts: list[str], rows: list[int], column: str) -> np.ndarray:
    return np.array([_input(text, row, column) for text, row in zip(texts, rows, strict=True)])


def _auto_task(texts: list[str]) -> Literal["classification", "regression"]:
    numbers = [_number(text) for text in texts]
    if any(n is None or not math.isfinite(n) for n in numbers):
        return "classification"
    values = [n for n in numbers if n is not None]
    if any(not v.is_integer() for v in values) or len(set(values)) > MAX_CLASSES:
        return "regression"
    return "classification"


def dataset_from_csv(
    data: bytes,
    *,
    task: Literal["auto", "classification", "regression"] = "auto",
    train_fraction: float = 0.5,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
) -> Dataset:
    """Parse an uploaded file into a Dataset (source 'csv', config name 'custom'); CSVError on the first
    problem. points (N, 2) and labels (N,) keep the file's row order; the split is shuffled by `seed`.
    max_rows may be set lower than MAX_ROWS (a server cap), never higher."""
    config = DataConfig(name=CUSTOM, train_fraction=train_fraction, seed=seed)  # validates both first
    max_rows = min(max_rows, MAX_ROWS)
    rows = _rows(_decode(data))
    if not rows:
        raise CSVError("the file is empty")
    (header_row, header), body = rows[0], rows[1:]
    if len(body) > max_rows:
        raise CSVError("more than {high} data rows", row=body[max_rows][0], high=format(max_rows, ","))
    if len(body) < MIN_ROWS:
        raise CSVError("the file has {n} data row(s); need at least {low}", n=len(body), low=MIN_ROWS)
    columns = _columns(header, body[0][1], header_row)
    points, texts, numbers = [], [], []
    for row, fields in body:
        while len(fields) > len(header) and fields[-1] == "":
            fields = fields[:-1]
        if len(fields) != len(header):
            raise CSVError("this row has {n} columns; the header has {header}", row=row, n=len(fields),
                           header=len(header))
        points.append((_input(fields[columns.x1], row, columns.name(columns.x1)),
                       _input(fields[columns.x2], row, columns.name(columns.x2))))
        texts.append(_label_text(fields[columns.label], row, columns.name(columns.label)))
        numbers.append(row)
    label_column = columns.name(columns.label)
    chosen = _auto_task(texts) if task == "auto" else task
    class_names: tuple[str, ...] = ()
    if chosen == "regression":
        labels = _regression_labels(texts, numbers, label_column)
    else:
        labels, class_names = _class_labels(texts, numbers, label_column)
    point_array = np.array(points, dtype=np.float64)
    train_index, test_index = split_indices(len(points), train_fraction, np.random.default_rng(seed))
    return Dataset(points=point_array, labels=labels, task=chosen, class_names=class_names,
                   train_index=train_index, test_index=test_index, extent=extent_of(point_array),
                   config=dataclasses.replace(config, n_samples=len(points)), source="csv")
