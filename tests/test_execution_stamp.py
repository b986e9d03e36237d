"""scripts/execution_stamp.py: `make test` may skip re-executing chapters only while the build's inputs are unchanged
and its executed notebooks are clean."""

import importlib.util
import json
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "execution_stamp", Path(__file__).parents[1] / "scripts/execution_stamp.py"
)
assert SPEC and SPEC.loader
stamp = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(stamp)


@pytest.fixture
def book(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_a.md").write_text("# a\n")
    (tmp_path / "mirage_utils").mkdir()
    (tmp_path / "mirage_utils" / "m.py").write_text("x = 1\n")
    (tmp_path / "data" / "checkpoints").mkdir(parents=True)
    monkeypatch.setattr(stamp, "ROOT", tmp_path)
    monkeypatch.setattr(stamp, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(stamp, "STAMP", tmp_path / "_build" / ".executed-inputs.sha256")
    monkeypatch.setattr(stamp, "PENDING", tmp_path / "_build" / ".executed-inputs.pending")
    monkeypatch.setattr(stamp, "EXECUTED", tmp_path / "_build" / "jupyter_execute" / "notebooks")
    return tmp_path


def _executed(book: Path, cells: list[dict]) -> None:
    folder = book / "_build" / "jupyter_execute" / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01_a.ipynb").write_text(json.dumps({"cells": cells}))


def test_any_input_edit_invalidates_the_stamp_but_checkpoints_do_not(book):
    assert stamp.main(["check"]) == 1  # no build yet
    assert stamp.main(["commit"]) == 1  # nothing begun
    assert stamp.main(["begin"]) == 0 and stamp.main(["check"]) == 1  # a build in progress is not a build
    assert stamp.main(["commit"]) == 0 and stamp.main(["check"]) == 0
    (book / "data" / "checkpoints" / "w.pt").write_bytes(b"weights")  # written by training, not an input
    assert stamp.main(["check"]) == 0
    (book / "mirage_utils" / "m.py").write_text("x = 2\n")
    assert stamp.main(["check"]) == 1
    # an edit made while the build runs: the record is the hash taken before, so it does not match
    assert stamp.main(["begin"]) == 0
    (book / "notebooks" / "01_a.md").write_text("# edited\n")
    assert stamp.main(["commit"]) == 0 and stamp.main(["check"]) == 1


def test_errors_flags_missing_unexecuted_and_failed_chapters(book):
    assert stamp.chapter_errors() == [
        f"01_a.md: no executed notebook at {Path('_build/jupyter_execute/notebooks/01_a.ipynb')}"
    ]
    ok = {"cell_type": "code", "source": ["1 + 1"], "execution_count": 1, "outputs": []}
    _executed(book, [ok, {"cell_type": "markdown", "source": ["text"]}])
    assert stamp.chapter_errors() == [] and stamp.main(["errors"]) == 0
    failed = {**ok, "outputs": [{"output_type": "error", "ename": "AssertionError", "evalue": "claim"}]}
    _executed(book, [ok, failed, {**ok, "execution_count": None}])
    problems = stamp.chapter_errors()
    assert problems == ["01_a.md, cell 1: AssertionError: claim", "01_a.md, cell 2: not executed"]
    assert stamp.main(["errors"]) == 1


def test_the_execution_cache_survives_a_prose_edit_but_not_a_package_edit(book, monkeypatch):
    cache = book / "_build" / ".jupyter_cache"
    monkeypatch.setattr(stamp, "CACHE", cache)
    monkeypatch.setattr(stamp, "CACHE_STAMP", cache / ".package-inputs.sha256")
    assert stamp.refresh_cache()  # no cache yet: created empty
    (cache / "executed.db").write_text("chapter outputs")
    (book / "notebooks" / "01_a.md").write_text("# a, reworded\n")
    assert not stamp.refresh_cache() and (cache / "executed.db").is_file()
    (book / "mirage_utils" / "m.py").write_text("x = 2\n")
    assert stamp.refresh_cache() and not (cache / "executed.db").exists()
