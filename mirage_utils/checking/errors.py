"""The check's one error type and the one-line message the command line prints for any failure.

``python -m mirage_utils check`` exits 2 with one line on standard error for every input it cannot use, never a
traceback: :class:`SchemaError` carries a message written for the reader (the problem, the file line or row, a fix);
:func:`one_line` turns any other exception into such a line, saying "internal error, please report" for the ones that
are the check's fault rather than the input's. ``MIRAGE_DEBUG=1`` re-raises instead (for a bug report).
"""

from __future__ import annotations

import os

DEBUG_ENV = "MIRAGE_DEBUG"


class SchemaError(ValueError):
    """The input does not follow the documented layout; the message names the column and the row."""


def debug() -> bool:
    """Is ``MIRAGE_DEBUG`` set to a true value (tracebacks wanted)?"""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _flat(text: str) -> str:
    return " ".join(text.split())


def one_line(exc: BaseException, stage: str) -> str:
    """What went wrong, in one line, for an exception raised at ``stage`` ("reading", "checking" or "writing")."""
    text = _flat(str(exc))
    if isinstance(exc, SchemaError):
        return text
    if isinstance(exc, UnicodeError):
        return f"not readable as text ({text}); save the file as UTF-8"
    if isinstance(exc, PermissionError):
        where = f" {exc.filename}" if exc.filename else ""
        return (
            f"permission denied{where}; choose a folder you can write to with --out"
            if stage == "writing"
            else (f"permission denied{where}; check the file's permissions")
        )
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        reason = exc.strerror or text
        advice = "check --out and the free disk space" if stage == "writing" else "check the path"
        return f"{reason}{where}; {advice}"
    if isinstance(exc, MemoryError):
        return "ran out of memory; check a sample of the rows first (fewer examples per model)"
    if stage == "reading":
        return f"cannot be read ({type(exc).__name__}: {text}); give CSV, Parquet or JSON Lines"
    if isinstance(exc, ValueError):
        return f"cannot be checked: {text}"
    return (
        f"internal error, please report ({type(exc).__name__} while {stage}: {text}); "
        f"run again with {DEBUG_ENV}=1 for the traceback"
    )
