"""One canonical text for every answer, whatever the file format, and the vectorised row checks of ``check``.

A number reaches ``check`` as ``1948`` (an integer column), ``1948.0`` (a float column of Parquet, or JSON Lines
written from one), ``"1948.0"`` (CSV written from a float column) or ``"１９４８"`` (full-width digits). Exact match
compares text, so without one canonical form the same answers score 1 in one format and 0 in another.
:func:`canonical_text` is the rule (one value); :func:`canonical_texts` applies the same rule to a column without a
Python loop over strings (Arrow's string kernels), and a test holds the two equal.

:func:`printed_in_prompt` finds numeric targets printed in their prompt (a copy would score) with NumPy's vectorised
string search, and :func:`number_lists` reads per-token log-probabilities (JSON lists or space-separated text) into one
flat array with row offsets, so 10^6 rows need no per-row parsing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from numpy.typing import NDArray

# ASCII whitespace only: NFKC has already mapped the other spaces (no-break, ideographic) onto " "
_SPACE = " \t\n\r\x0b\x0c"
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]*")
_EXPONENT = re.compile(r"-?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+")
_NUMERIC_TARGET = r"^-?[0-9]+(\.[0-9]+)?$"


def _number(value: float) -> str:
    """A finite float as the shortest positional decimal that reads back to it: 1948.0 -> "1948", 1e-05 ->
    "0.00001", -0.0 -> "0" (never exponent notation, so that text and float agree)."""
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    text = np.format_float_positional(value, unique=True, trim="-")
    return "0" if text == "-0" else text


def _canonical_str(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = text.strip(_SPACE)
    if _DECIMAL.fullmatch(text):
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text == "-0" else text
    if text == "-0":
        return "0"
    if _EXPONENT.fullmatch(text):
        return _number(float(text))
    return text


def canonical_text(value: object) -> str | None:
    """The text an answer is compared as, or None for a missing one.

    Numbers (int, float, NumPy scalars) are written positionally without a trailing ``.0``; text is NFKC-normalised
    (full-width digits become ASCII), stripped of surrounding whitespace, and a decimal number in it is written the
    same way (``"1948.0"`` and ``"1948.50"`` become ``"1948"`` and ``"1948.5"``, ``"1e3"`` becomes ``"1000"``).
    Leading zeros and signs other than ``-0`` are kept: ``"007"`` is what the model wrote, not a format artefact.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        return None if math.isnan(number) else _number(number)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return _canonical_str(value if isinstance(value, str) else str(value))


def _strings_fast(values: NDArray[np.object_]) -> NDArray[np.object_]:
    """:func:`_canonical_str` on an array of ``str`` with Arrow's kernels (RE2 regular expressions, C++ loops)."""
    arr = pa.array(values, type=pa.large_string())
    ascii_only = pc.string_is_ascii(arr)
    if not pc.all(ascii_only).as_py():
        # Python's NFKC on the non-ASCII values, not Arrow's utf8_normalize: pyarrow < 26 (all that Python 3.10 has)
        # leaves decomposed letters ("A" + U+0300) as they are, which would make "À" two answers.
        values = values.copy()
        for i in np.flatnonzero(~ascii_only.to_numpy(zero_copy_only=False)):
            values[i] = unicodedata.normalize("NFKC", values[i])
        arr = pa.array(values, type=pa.large_string())
    arr = pc.utf8_trim(arr, characters=_SPACE)
    decimal = pc.match_substring_regex(arr, pattern=r"^-?[0-9]+\.[0-9]*$")
    arr = pc.if_else(decimal, _with_dot_trim(arr), arr)
    arr = pc.if_else(pc.equal(arr, "-0"), "0", arr)
    out: NDArray[np.object_] = arr.to_numpy(zero_copy_only=False).astype(object)
    exponent = pc.match_substring_regex(arr, pattern=r"^-?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$")
    for i in np.flatnonzero(exponent.to_numpy(zero_copy_only=False)):  # rare: numbers in exponent notation
        out[i] = _number(float(out[i]))
    return out


def _with_dot_trim(arr: pa.Array) -> pa.Array:
    """Trailing zeros after the decimal point removed, then the point itself if nothing follows it."""
    no_zeros = pc.replace_substring_regex(arr, pattern=r"(\.[0-9]*?)0+$", replacement=r"\1")
    return pc.replace_substring_regex(no_zeros, pattern=r"\.$", replacement="")


def _canonical_values(values: NDArray[np.object_], column: pd.Series | None = None) -> NDArray[np.object_]:
    """:func:`canonical_text` of each value: strings through Arrow, a numeric column through int64, the rest one by
    one."""
    out = np.empty(len(values), dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if is_str.any():
        try:
            out[is_str] = _strings_fast(values[is_str])
        except (pa.ArrowException, UnicodeError):  # text Arrow cannot hold (lone surrogates): the same rule, slowly
            out[is_str] = [_canonical_str(v) for v in values[is_str]]
    other = np.flatnonzero(~is_str)
    if other.size:
        numeric = (
            column is not None and pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        )
        if numeric and column is not None and other.size == len(values):
            out[:] = _numbers_fast(column)
        else:
            out[other] = [canonical_text(values[i]) for i in other]
    return out


# value kinds (pandas.api.types.infer_dtype) whose equal values are the same answer: safe to canonicalise once per
# distinct value. A mixed column is not (factorize holds True and 1 for one key).
_HOMOGENEOUS = {"string", "empty", "integer", "floating", "mixed-integer-float"}


def canonicalise(column: pd.Series) -> tuple[pd.Series, int]:
    """:func:`canonical_text` of every value of ``column`` (same index, object dtype, None where missing),
    vectorised, and how many text values it changed beyond surrounding whitespace (full-width digits, ``"1948.0"``):
    the model wrote those differently, so the report says so. Numbers read as numbers are not counted.

    A column of one kind (all text, or all numbers) is canonicalised once per distinct value."""
    if pd.api.types.infer_dtype(column, skipna=True) in _HOMOGENEOUS:
        try:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
        except TypeError:
            codes = None
        if codes is not None:
            distinct = np.asarray(uniques, dtype=object)
            canon = _canonical_values(distinct, pd.Series(uniques) if len(distinct) else None)
            out = np.empty(len(codes), dtype=object)
            present = codes >= 0
            out[present] = canon[codes[present]]
            counts = np.bincount(codes[present], minlength=len(distinct))
            changed = np.fromiter(
                (isinstance(u, str) and u.strip(_SPACE) != c for u, c in zip(distinct, canon)),
                dtype=bool,
                count=len(distinct),
            )
            return pd.Series(out, index=column.index, dtype=object), int(counts[changed].sum())
    values = column.to_numpy(dtype=object)
    out = _canonical_values(values, column)
    rewritten = sum(1 for v, c in zip(values, out) if isinstance(v, str) and v.strip(_SPACE) != c)
    return pd.Series(out, index=column.index, dtype=object), rewritten


def canonical_texts(column: pd.Series) -> pd.Series:
    """:func:`canonical_text` of every value of ``column`` (same index; None where missing), vectorised."""
    return canonicalise(column)[0]


def _numbers_fast(column: pd.Series) -> NDArray[np.object_]:
    """A numeric column: whole numbers below 2^53 through int64 (vectorised), the rest one by one."""
    x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = np.full(len(x), None, dtype=object)
    whole = np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < 2.0**53)
    out[whole] = x[whole].astype(np.int64).astype(str).astype(object)
    for i in np.flatnonzero(~whole & ~np.isnan(x)):
        out[i] = _number(float(x[i]))
    if pd.api.types.is_integer_dtype(column):  # int64 beyond 2^53 would lose digits through float
        big = np.flatnonzero(~whole)
        raw = column.to_numpy()
        for i in big:
            out[i] = str(int(raw[i]))
    return out


# --- answers printed in the prompt -------------------------------------------------------------------------------


def _printed_one(target: str, prompt: str) -> bool:
    """The rule, for one row (the reference the vectorised search is tested against): a numeric ``target`` printed
    in ``prompt`` as a whole number ("28" is not found in "2870", "1.28" or "28.5", but is in "28." and "(28)")."""
    if not re.fullmatch(_NUMERIC_TARGET, target):
        return False
    return re.search(rf"(?<![\w.]){re.escape(target)}(?![\w]|\.\d)", prompt) is not None


def _chars(text: NDArray[np.str_], at: NDArray[np.int64]) -> NDArray[np.str_]:
    """The character of each string at each position ("" outside the string)."""
    inside = (at >= 0) & (at < np.strings.str_len(text))
    start = np.where(inside, at, 0)
    if hasattr(np.strings, "slice"):  # NumPy >= 2.3
        chars: NDArray[np.str_] = np.strings.slice(text, start, start + 1)
    else:
        chars = np.array([t[s : s + 1] for t, s in zip(text.tolist(), start.tolist())], dtype=np.dtypes.StringDType())
    return np.where(inside, chars, np.array("", dtype=chars.dtype))


def _word(chars: NDArray[np.str_]) -> NDArray[np.bool_]:
    return np.asarray(np.strings.isalnum(chars) | (chars == "_"), dtype=bool)


def _texts(column: pd.Series) -> NDArray[np.object_]:
    """The values as Python ``str`` ("" for a missing one, ``str(v)`` for a non-text one)."""
    if pd.api.types.infer_dtype(column, skipna=True) == "string":
        return np.asarray(column.fillna("").to_numpy(dtype=object), dtype=object)
    values = column.to_numpy(dtype=object)
    return np.array(["" if v is None or v is pd.NA or v != v else str(v) for v in values], dtype=object)


def printed_in_prompt(targets: pd.Series, prompts: pd.Series, max_rounds: int = 32) -> NDArray[np.bool_]:
    """For each row, is the (canonical, numeric) target printed in the prompt as a whole number?

    Only numeric answers are checked: a solved example's number is a copy that can score, while words and option
    letters ("True", "(A)") appear in prompts for other reasons. Each round finds every unresolved row's next
    occurrence at once (``numpy.strings.find``) and tests the characters around it; rows with more than
    ``max_rounds`` rejected occurrences (a prompt made of one digit repeated) fall back to a regular expression.
    """
    if len(targets) != len(prompts):
        raise ValueError(f"targets and prompts differ in length ({len(targets)} vs {len(prompts)})")
    found = np.zeros(len(targets), dtype=bool)
    target_values = _texts(targets)
    numeric = pc.match_substring_regex(pa.array(target_values, type=pa.large_string()), pattern=_NUMERIC_TARGET)
    rows = np.flatnonzero(numeric.to_numpy(zero_copy_only=False))
    if rows.size == 0:
        return found
    string = np.dtypes.StringDType()
    target = np.array(target_values[rows], dtype=string)
    prompt = np.array(_texts(prompts)[rows], dtype=string)
    length = np.strings.str_len(target).astype(np.int64)
    pending = np.arange(rows.size)
    start = np.zeros(rows.size, dtype=np.int64)
    for _ in range(max_rounds):
        pos = np.strings.find(prompt[pending], target[pending], start[pending]).astype(np.int64)
        pending, pos = pending[pos >= 0], pos[pos >= 0]
        if pending.size == 0:
            return found
        text, end = prompt[pending], pos + length[pending]
        before, after, after2 = _chars(text, pos - 1), _chars(text, end), _chars(text, end + 1)
        ok = ~(_word(before) | (before == ".")) & ~_word(after) & ~((after == ".") & np.strings.isdecimal(after2))
        found[rows[pending[ok]]] = True
        pending = pending[~ok]
        start[pending] = pos[~ok] + 1
    for i in pending:  # pathological prompts only
        found[rows[i]] = _printed_one(str(target[i]), str(prompt[i]))
    return found


# --- lists of numbers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberLists:
    """Lists of numbers, one per row, as one flat array: row ``i`` is ``values[offsets[i]:offsets[i + 1]]``."""

    values: NDArray[np.float64]
    offsets: NDArray[np.int64]

    @property
    def lengths(self) -> NDArray[np.int64]:
        return np.diff(self.offsets)

    def reduce(self, ufunc: np.ufunc, empty: float) -> NDArray[np.float64]:
        """``ufunc.reduceat`` per row (``empty`` for a row without numbers)."""
        out = np.full(len(self.offsets) - 1, empty, dtype=float)
        nonempty = self.lengths > 0
        if nonempty.any() and self.values.size:
            out[nonempty] = ufunc.reduceat(self.values, self.offsets[:-1][nonempty])
        return out

    def mean(self) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return self.reduce(np.add, np.nan) / self.lengths

    def to_lists(self) -> list[list[float]]:
        flat = self.values.tolist()
        return [flat[a:b] for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist())]


def _arrow_text(column: pd.Series, values: NDArray[np.object_]) -> pa.Array:
    """A text column as an Arrow string array: the column's own buffers when it is Arrow-backed (no copy)."""
    if isinstance(column.dtype, pd.StringDtype) and hasattr(column.array, "__arrow_array__"):
        arr = pa.array(column.array)
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return pa.array(values, type=pa.large_string())


def number_lists(column: pd.Series) -> NumberLists | None:
    """Every value of ``column`` as a list of numbers (JSON list text ``"[-0.1, -0.2]"``, space-separated text,
    a list or array, or a single number), vectorised; None if any value does not parse, so that the caller can find
    and name the first bad row."""
    values = column.to_numpy(dtype=object)
    if len(values) == 0:
        return NumberLists(np.zeros(0), np.zeros(1, dtype=np.int64))
    first = values[0]
    try:
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            flat = pd.to_numeric(column).to_numpy(dtype=float, na_value=np.nan)
            return NumberLists(flat, np.arange(len(flat) + 1, dtype=np.int64))
        if isinstance(first, str):
            arr = _arrow_text(column, values)  # raises for a non-string value
            if arr.null_count:
                return None
            spaced = pc.utf8_trim(pc.replace_substring_regex(arr, pattern=r"[\[\],\s]+", replacement=" "), " ")
            bad_json = pc.any(pc.match_substring_regex(arr, pattern=r"\[\s*\[|\]\s*\S")).as_py()
            if bad_json:  # nested lists or text after the closing bracket
                return None
            tokens = pc.split_pattern(spaced, " ")  # (utf8_split_whitespace left a trailing space on some rows)
        elif isinstance(first, (list, tuple, np.ndarray)):
            tokens = pa.array([np.asarray(v, dtype=float) for v in values], type=pa.large_list(pa.float64()))
        else:
            return None
        parent = np.asarray(pc.list_parent_indices(tokens), dtype=np.int64)
        flat_tokens = tokens.flatten()
        if pa.types.is_string(flat_tokens.type) or pa.types.is_large_string(flat_tokens.type):
            keep = np.asarray(pc.not_equal(flat_tokens, "").to_numpy(zero_copy_only=False), dtype=bool)
            flat_tokens, parent = flat_tokens.filter(pa.array(keep)), parent[keep]
        flat = np.asarray(pc.cast(flat_tokens, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.bincount(parent, minlength=len(values)), out=offsets[1:])
    return NumberLists(flat, offsets)
