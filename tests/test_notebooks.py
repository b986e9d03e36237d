"""Each chapter's .md (the source) and its paired .ipynb (for nbval, Colab, downloads) must agree."""

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.md"))


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_chapters():
    assert CHAPTERS, "no chapters found in notebooks/"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_pair_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make sync`"
    from_md = jupytext.read(md)
    paired = jupytext.read(ipynb)
    assert _cells(paired) == _cells(from_md), f"{ipynb.name} is out of sync with {md.name}: run `make sync`"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_conventions(md):
    text = md.read_text()
    for heading in ("## Overview", "Prerequisites", "Time to run", "## Summary", "## What's next"):
        assert heading in text, f"{md.name} lacks {heading!r}"
    assert re.search(r"^#{2,3} Claim checks", text, re.MULTILINE), f"{md.name} has no 'Claim checks' section"
    assert "!pip" not in text and "%pip" not in text, f"{md.name} installs packages inside the chapter"
    assert text.count("{exercise}") >= 2, f"{md.name} needs at least two exercises"


def test_every_chapter_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for md in CHAPTERS:
        assert f"notebooks/{md.stem}" in toc, f"{md.name} is not in _toc.yml"


def _repository_url() -> str:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_course_boxes(md):
    """Every chapter tells a reader what to take away and exactly how to run it (issue: course use)."""
    text = md.read_text()
    assert "```{admonition} What you should take away\n:class: important" in text, md.name
    box = text[text.index("{admonition} Run it yourself") :]
    box = box[: box.index("````\n")]
    assert f"jupyter execute notebooks/{md.stem}.ipynb" in box and "seconds" in box, md.name


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_only_when_needed(md):
    """Colab opens the .ipynb: its first code cell must install the package, hidden in the book, no-op when present."""
    nb = jupytext.read(md)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "remove-cell" in first.metadata.get("tags", []), md.name
    assert 'importlib.util.find_spec("mirage_utils") is None' in first.source, md.name
    assert f'REPO_URL = "{_repository_url()}"' in first.source, f"{md.name}: install URL differs from _config.yml"
    assert "scripts/colab_setup.sh" in first.source and (ROOT / "scripts" / "colab_setup.sh").is_file(), md.name


def test_the_install_cell_is_one_cell_shared_by_every_chapter():
    """One setup for every chapter (the work lives in scripts/colab_setup.sh): the hidden first cells are identical."""
    firsts = {md.name: next(c for c in jupytext.read(md).cells if c.cell_type == "code").source for md in CHAPTERS}
    assert len(set(firsts.values())) == 1, sorted(firsts)
    script = (ROOT / "scripts" / "colab_setup.sh").read_text()
    assert 'pip install -q -e ".[train]"' in script and "datasets install" in script and "fonts-noto-core" in script
