"""Check your own curve: the book's tests applied to a reader's model family (``python -m mirage_utils check``)."""

from .analyse import check
from .schema import SchemaError, read_table, validate

__all__ = ["SchemaError", "check", "read_table", "validate"]
