"""One canonical answer text (the vectorised column rule equals the one-value rule), the vectorised prompt-copy search
equals the per-row regular expression, and the vectorised list parse equals the row-by-row one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage_utils.checking.normalise import (
    _printed_one,
    canonical_text,
    canonical_texts,
    number_lists,
    printed_in_prompt,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1948, "1948"),
        (1948.0, "1948"),
        ("1948.0", "1948"),
        ("1948.", "1948"),
        (" 1948.50 ", "1948.5"),
        ("１９４８", "1948"),
        ("１９４８．０", "1948"),
        (np.int64(1948), "1948"),
        (np.float32(1948), "1948"),
        ("-0.0", "0"),
        (-0.0, "0"),
        ("1e3", "1000"),
        (1e22, "10000000000000000000000"),
        (1e-5, "0.00001"),
        ("007", "007"),
        ("+5", "+5"),
        ("True", "True"),
        (True, "True"),
        ("forty two", "forty two"),
        (None, None),
        (float("nan"), None),
        (pd.NA, None),
    ],
)
def test_canonical_text(value, text):
    assert canonical_text(value) == text
    assert canonical_texts(pd.Series([value, "x"], dtype=object)).iloc[0] == text


def test_numeric_columns_use_the_same_rule():
    floats = pd.Series([1948.0, 2.5, np.nan, -0.0, 1e22, 1e-5])
    assert canonical_texts(floats).tolist() == [canonical_text(v) for v in floats]
    ints = pd.Series([1, -7, 2**62])
    assert canonical_texts(ints).tolist() == ["1", "-7", str(2**62)]


numbers_as_text = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(alphabet="0123456789.-+eE ０１２３４５６７８９．", max_size=8),
)
values = st.one_of(
    numbers_as_text,
    st.text(max_size=8),
    st.integers(-(10**20), 10**20),
    st.floats(width=64),
    st.none(),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=12))
def test_column_rule_equals_one_value_rule(items):
    column = pd.Series(items, dtype=object)
    assert canonical_texts(column).tolist() == [canonical_text(v) for v in items]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=8))
def test_numbers_and_their_text_agree(floats):
    """A float column and the same column written to CSV (pandas' repr) read the same."""
    as_numbers = canonical_texts(pd.Series(floats)).tolist()
    as_text = canonical_texts(pd.Series([repr(f) for f in floats], dtype=object)).tolist()
    assert as_numbers == as_text


@pytest.mark.parametrize(
    ("target", "prompt", "printed"),
    [
        ("28", "41*70 = 2870\nQ:", False),
        ("28", "x = 28.", True),
        ("28", "(28)", True),
        ("28", "1.28", False),
        ("28", "28.5", False),
        ("28", "a28", False),
        ("28", "28a", False),
        ("28", "2870 then 28", True),
        ("-3", "a -3", True),
        ("-3", "5-3", False),
        ("3", "5-3", True),
        ("2.5", "12.5 and 2.5.", True),
        ("True", "Is 2 even? True", False),
        ("1", "1" * 100, False),
        ("1", "1" * 100 + " 1", True),
    ],
)
def test_printed_in_prompt_cases(target, prompt, printed):
    assert _printed_one(target, prompt) is printed
    assert printed_in_prompt(pd.Series([target]), pd.Series([prompt]))[0] == printed


digits_and_marks = st.text(alphabet="0123456789.-_ a\n(", max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="0123456789.-", min_size=1, max_size=4), digits_and_marks), max_size=10))
def test_vectorised_prompt_search_equals_the_regex(pairs):
    targets = pd.Series([t for t, _ in pairs], dtype=object)
    prompts = pd.Series([p for _, p in pairs], dtype=object)
    expected = [_printed_one(t, p) for t, p in pairs]
    assert printed_in_prompt(targets, prompts, max_rounds=3).tolist() == expected


def test_prompt_search_takes_missing_prompts_and_targets():
    found = printed_in_prompt(pd.Series(["12", None, "7"]), pd.Series([None, "12", "7 days"]))
    assert found.tolist() == [False, False, True]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(max_value=0, allow_nan=False), min_size=1, max_size=5),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["json", "spaces", "lists"]),
)
def test_number_lists_parse_every_written_form(rows, form):
    if form == "json":
        column = pd.Series([json.dumps(r) for r in rows], dtype=object)
    elif form == "spaces":
        column = pd.Series([" ".join(repr(x) for x in r) for r in rows], dtype=object)
    else:
        column = pd.Series(rows, dtype=object)
    parsed = number_lists(column)
    assert parsed is not None and parsed.to_lists() == rows
    assert np.allclose(parsed.mean(), [np.mean(r) for r in rows], equal_nan=True)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("[-inf, -inf, 0.0, -1.5e182, -inf]", [-np.inf, -np.inf, 0.0, -1.5e182, -np.inf]),
        ("[-Infinity, 0.0]", [-np.inf, 0.0]),  # json.dumps writes -inf so
        ("-inf -0.5", [-np.inf, -0.5]),
    ],
)
def test_number_lists_read_infinite_log_probabilities(text, numbers):
    """An option the model gives zero probability has log-probability -inf: a legitimate value, read as one."""
    parsed = number_lists(pd.Series([text, "[-0.1]"], dtype=object))
    assert parsed is not None and parsed.to_lists() == [numbers, [-0.1]]


def test_decomposed_letters_are_one_answer():
    """U+00C0 and "A" + U+0300 are one answer: pyarrow < 26 (Python 3.10's newest) decomposes both in NFKC, so the
    column rule must equal Python's NFKC, the one-value rule."""
    column = pd.Series(["\u00c0", "A\u0300", " A\u0300 ", "caf\u0065\u0301"], dtype=object)
    assert canonical_texts(column).tolist() == ["\u00c0", "\u00c0", "\u00c0", "caf\u00e9"]
    assert canonical_texts(column).tolist() == [canonical_text(v) for v in column]


@pytest.mark.parametrize("bad", ["[-1, oops]", "[[-1]]", "[-1] 2", None])
def test_number_lists_refuse_what_they_cannot_read(bad):
    assert number_lists(pd.Series(["[-1]", bad], dtype=object)) is None
