"""Read a reader's results file for ``check`` whatever it is, or say in one line what it is and what to do.

The format is told from the bytes, the extension only breaking ties: Parquet by its magic bytes ``PAR1`` (also when
named ``.csv``), gzip is unpacked, a JSON document (one object or array, pretty-printed or not) apart from JSON Lines,
and everything else is delimited text whose delimiter (``,`` ``;`` tab ``|``) is found from the header. Text is read as
UTF-8 (a byte-order mark is dropped, UTF-16 with a mark is understood) and otherwise as Latin-1, with a note saying so.
An lm-evaluation-harness results file (keys ``results`` and ``versions`` or ``configs``) goes to
:mod:`mirage_utils.checking.lmeval`.

Every failure is a :class:`~mirage_utils.checking.schema.SchemaError` naming the file line and a fix. Notes about how
the file was read (encoding, delimiter, format) are in ``frame.attrs["notes"]``; ``frame.attrs["first_line"]`` is the
file line of row 0 where rows and lines correspond one to one (else absent), so errors can name the line.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import SchemaError

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
TEXT_COLUMNS = ("target", "output", "prompt", "model", "metric", "task")
LMEVAL_MODULE = f"{__package__}.lmeval"  # the reader of lm-evaluation-harness results files, imported when needed


def is_lm_eval_results(document: object) -> bool:
    """Does a parsed JSON document look like lm-evaluation-harness's aggregated results (0.3 or 0.4 layout)?"""
    return (
        isinstance(document, dict)
        and isinstance(document.get("results"), dict)
        and any(k in document for k in ("versions", "config", "configs", "n-samples"))
    )


def _lm_eval(path: Path) -> pd.DataFrame:
    """Hand an lm-evaluation-harness results file to :mod:`mirage_utils.checking.lmeval` where it is installed."""
    try:
        lmeval = importlib.import_module(LMEVAL_MODULE)
    except ImportError:
        lmeval = None
    reader = getattr(lmeval, "read_results", None)
    if reader is None:
        raise SchemaError(
            "this looks like an lm-evaluation-harness results file (keys 'results' and 'versions'/'configs'), "
            "which this version of check cannot read; convert the per-sample logs with "
            "mirage_utils.checking.harness.from_lm_eval, or give a table with model, params, metric, value, n"
        )
    results = reader(path)
    frame = results.frame if hasattr(results, "frame") else results
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError("the lm-evaluation-harness reader returned no table")
    frame.attrs["notes"] = ["read as an lm-evaluation-harness results file", *getattr(results, "notes", [])]
    return frame


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: bytes, notes: list[str]) -> str:
    """UTF-8 (with or without a byte-order mark), UTF-16 with a mark, else Latin-1 with a note naming the line of the
    first byte that is not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SchemaError(f"starts as UTF-16 but is not ({exc.reason}); save it as UTF-8") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        notes.append(
            f"not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}): read as Latin-1, so check accented names; "
            "save the file as UTF-8 to silence this note"
        )
        return data.decode("latin-1")


def _delimiter(text: str) -> str:
    """The candidate that splits the header into the most fields (column names rarely hold a delimiter); the
    :class:`csv.Sniffer` breaks ties on the first lines."""
    header = text.split("\n", 1)[0]
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    best = max(counts.values())
    tied = [d for d, c in counts.items() if c == best]
    if best <= 1 or len(tied) == 1:
        return tied[0] if best > 1 else ","
    try:
        sniffed = csv.Sniffer().sniff("\n".join(text.split("\n", 20)[:20]), delimiters="".join(tied)).delimiter
    except csv.Error:
        return tied[0]
    return sniffed if sniffed in tied else tied[0]


def _short_rows(text: str, delimiter: str, fields: int) -> tuple[int, int] | None:
    """(file line, field count) of the first row with fewer fields than the header, if any (pandas pads them)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader, None)
    for row in reader:
        if row and len(row) < fields:
            return reader.line_num, len(row)
    return None


def _read_delimited(text: str, notes: list[str]) -> pd.DataFrame:
    sample = text[:65536]
    control = sum(1 for c in sample if c < " " and c not in "\t\n\r")
    if "\x00" in sample or control > 0.05 * len(sample):
        raise SchemaError("binary content, not CSV, Parquet or JSON; give the results table as one of those")
    delimiter = _delimiter(text)
    if delimiter != ",":
        notes.append(f"read as {DELIMITER_NAMES[delimiter]}-separated text")
    header = next(csv.reader([text.split("\n", 1)[0]], delimiter=delimiter), [])
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SchemaError(f"line 1: column {repeated[0]!r} appears more than once in the header; rename or drop one")
    dtypes = {c: str for c in header if c in TEXT_COLUMNS}
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, keep_default_na=False, na_values=[""], dtype=dtypes, engine="c"
        )
    except pd.errors.EmptyDataError as exc:
        raise SchemaError("no header and no rows: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise SchemaError(_parser_message(str(exc), delimiter, len(header))) from exc
    if len(frame.columns) > 1 and frame.iloc[:, -1].isna().any():
        short = _short_rows(text, delimiter, len(header))
        if short is not None:
            raise SchemaError(
                f"line {short[0]}: {short[1]} fields where the header has {len(header)}; fill the missing fields "
                f"(empty is fine: leave the {DELIMITER_NAMES[delimiter]}s in) or fix the quoting"
            )
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines == len(frame) + 1:
        frame.attrs["first_line"] = 2
    return frame


def _parser_message(message: str, delimiter: str, fields: int) -> str:
    name = DELIMITER_NAMES[delimiter]
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        expected, line, saw = ragged.groups()
        return (
            f"line {line}: {saw} fields where the header has {expected}; a text field holding a {name} must be in "
            'double quotes ("like, this")'
        )
    if "EOF inside string" in message:
        row = re.search(r"starting at row (\d+)", message)
        where = f"row {row.group(1)}" if row else "a row"
        return f'a double quote opened in {where} is never closed; close it or double it inside text ("")'
    return f"cannot be read as {name}-separated text ({message.strip().splitlines()[-1]})"


def _json_rows(records: list[Any], what: str) -> pd.DataFrame:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise SchemaError(f"{what} {i + 1} is a JSON {type(record).__name__}, not an object (one per row)")
    return pd.DataFrame.from_records(records)


def _json_document(document: object, path: Path, notes: list[str]) -> pd.DataFrame:
    """A whole-file JSON document: a list of row objects, an object of columns, or lm-eval results."""
    if is_lm_eval_results(document):
        return _lm_eval(path)
    if isinstance(document, list):
        return _json_rows(document, "element")
    if isinstance(document, dict):
        if document and all(isinstance(v, list) for v in document.values()):
            lengths = {len(v) for v in document.values()}
            if len(lengths) > 1:
                raise SchemaError(f"a JSON object of columns of unequal lengths {sorted(lengths)}; one value per row")
            return pd.DataFrame(document)
        if document and all(isinstance(v, dict) for v in document.values()):
            return pd.DataFrame(document)  # pandas' default to_json: {column: {row: value}}
        tables = [k for k, v in document.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(tables) == 1:
            notes.append(f"read the rows under the key {tables[0]!r}")
            return _json_rows(document[tables[0]], f"{tables[0]!r} element")
        raise SchemaError(
            f"a JSON object with keys {sorted(map(str, document))[:6]} is not a table: give a list of objects (one "
            "per row) or JSON Lines (one object per line)"
        )
    raise SchemaError(f"a single JSON {type(document).__name__}, not a table; give one object per row")


def _read_json_lines(text: str) -> pd.DataFrame:
    try:  # fast: pandas' C JSON reader
        frame = pd.read_json(
            io.StringIO(text),
            lines=True,
            dtype=False,
            precise_float=True,
        )
    except (ValueError, TypeError):
        frame = None
    if frame is not None and len(frame.columns) and all(isinstance(c, str) for c in frame.columns):
        lines = text.split("\n")
        if len(frame) == sum(1 for line in lines if line.strip()):
            if all(line.strip() for line in lines[: len(frame)]):
                frame.attrs["first_line"] = 1
            return frame
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"line {number}: not JSON ({exc.msg} at column {exc.colno}); JSON Lines needs one complete object "
                "per line"
            ) from exc
        if not isinstance(record, dict):
            raise SchemaError(f"line {number}: a JSON {type(record).__name__}, not an object (one per line)")
        records.append(record)
    return pd.DataFrame.from_records(records)


def _read_json(text: str, path: Path, notes: list[str]) -> pd.DataFrame:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            first = text.lstrip().split("\n", 1)[0]
            try:
                json.loads(first)
            except json.JSONDecodeError:
                raise SchemaError(
                    f"line {exc.lineno}: not JSON ({exc.msg} at column {exc.colno}); fix the file or give CSV"
                ) from exc
        return _read_json_lines(text)
    return _json_document(document, path, notes)


def _read_parquet(data: bytes) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types (ArrowInvalid, OSError, ...) for a damaged file
        reason = " ".join(str(exc).split())[:200]
        raise SchemaError(
            f"starts like Parquet but cannot be read ({type(exc).__name__}: {reason}); write it again or give CSV"
        ) from exc


def read_bytes(data: bytes, path: Path, notes: list[str]) -> pd.DataFrame:
    """The table in ``data`` (the contents of ``path``), by content; see the module docstring."""
    if not data.strip():
        raise SchemaError("the file is empty; give a table with a header row (see the columns in the docs)")
    if data.startswith(PARQUET_MAGIC):
        if path.suffix.lower() not in (".parquet", ".pq"):
            notes.append(f"Parquet content in a file named {path.suffix or 'without extension'}: read as Parquet")
        return _read_parquet(data)
    if data.startswith(GZIP_MAGIC):
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SchemaError(f"starts like gzip but cannot be unpacked ({exc}); give the file unpacked") from exc
        notes.append("unpacked gzip")
        return read_bytes(inner, path.with_suffix("") if path.suffix == ".gz" else path, notes)
    if data.startswith(ZIP_MAGIC):
        raise SchemaError("a zip archive or Excel workbook; export the sheet as CSV (or unzip the folder)")
    text = _decode(data, notes)
    if text.lstrip().startswith(("{", "[")):
        return _read_json(text, path, notes)
    if path.suffix.lower() in (".json", ".jsonl"):
        raise SchemaError("named JSON but does not start with '{' or '['; give one JSON object per line")
    return _read_delimited(text, notes)


def read_table(path: str | Path) -> pd.DataFrame:
    """The results table in ``path`` (CSV or other delimited text, Parquet, JSON Lines, a JSON document, gzip of any
    of these, or an lm-evaluation-harness results file); raises :class:`SchemaError` saying what is wrong and what to
    do, never another exception for a file's contents."""
    path = Path(path)
    if path.is_dir():
        raise SchemaError("a folder; give one results file (CSV, Parquet or JSON Lines)")
    if not path.is_file():
        raise SchemaError("no such file; check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"cannot be read ({exc.strerror or exc}); check its permissions") from exc
    notes: list[str] = []
    frame = read_bytes(data, path, notes)
    if frame.empty:
        raise SchemaError("a header but no rows" if len(frame.columns) else "no rows and no columns")
    frame.attrs["notes"] = [*frame.attrs.get("notes", []), *notes]
    return frame
