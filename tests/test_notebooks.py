"""Each chapter's .md (the source) and its paired .ipynb (for nbval, Colab, downloads) must agree."""

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "notebooks").glob("*.md"))  # chapters and their robustness pages
CHAPTERS = [p for p in PAGES if not p.stem.endswith("_robustness")]


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_chapters():
    assert CHAPTERS, "no chapters found in notebooks/"


@pytest.mark.parametrize("md", PAGES, ids=lambda p: p.name)
def test_pair_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run `make sync`"
    from_md = jupytext.read(md)
    paired = jupytext.read(ipynb)
    assert _cells(paired) == _cells(from_md), f"{ipynb.name} is out of sync with {md.name}: run `make sync`"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_conventions(md):
    text = md.read_text()
    for heading in ("## Overview", "What you'll learn", "Prerequisites", "Time to run", "## Verdicts", "## Summary"):
        assert heading in text, f"{md.name} lacks {heading!r}"
    assert "## What's next" in text, f'{md.name} lacks "## What\'s next"'
    both = text + _robustness(md).read_text()
    assert re.search(r"^#{2,3} Claim checks", both, re.MULTILINE), (
        f"{md.name} and its robustness page: no 'Claim checks'"
    )
    assert "!pip" not in both and "%pip" not in both, f"{md.name} installs packages inside the chapter"
    assert text.count("{exercise}") >= 2, f"{md.name} needs at least two exercises"


def _robustness(md: Path) -> Path:
    return md.with_name(f"{md.stem}_robustness.md")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_has_a_robustness_page_that_links_both_ways(md):
    """The reader's path on the chapter page, the audit one click away (issue 23)."""
    page = _robustness(md)
    assert page.is_file(), f"{md.name} has no robustness page {page.name}"
    chapter_label = re.search(r"^\((chapter-[\w-]+)\)=", md.read_text(), re.MULTILINE)
    robustness_label = re.search(r"^\((robustness-[\w-]+)\)=", page.read_text(), re.MULTILINE)
    assert chapter_label and robustness_label, md.name
    assert robustness_label.group(1) in md.read_text(), f"{md.name} never links its robustness page"
    assert chapter_label.group(1) in page.read_text(), f"{page.name} never links its chapter"
    assert re.search(r"^# Robustness of (Chapter \d|Appendix A)", page.read_text(), re.MULTILINE), page.name


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_questions_with_worked_answers(md):
    """Teaching kit: at least two conceptual questions per chapter, each with an answer in a dropdown."""
    text = md.read_text()
    assert "## Questions to think about" in text, md.name
    section = text[text.index("## Questions to think about") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    assert section.count(":class: dropdown") >= 2, f"{md.name}: fewer than two answered questions"


@pytest.mark.parametrize("md", PAGES, ids=lambda p: p.name)
def test_no_prose_generated_in_code(md):
    """Prose lives in markdown; numbers enter it through glue (issue 23)."""
    code = "\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "code")
    assert not re.search(r"Markdown\(\s*f[\"']", code), f"{md.name} writes prose with Markdown(f'...')"


def test_every_chapter_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for md in PAGES:
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


@pytest.mark.parametrize("md", PAGES, ids=lambda p: p.name)
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
    firsts = {md.name: next(c for c in jupytext.read(md).cells if c.cell_type == "code").source for md in PAGES}
    assert len(set(firsts.values())) == 1, sorted(firsts)
    script = (ROOT / "scripts" / "colab_setup.sh").read_text()
    assert 'pip install -q -c "$PINS" -e ".[train,chapters]" "myst-nb==' in script and "constraints.txt" in script
    assert "datasets install" in script
    assert "apt-get" not in script  # a reader's kernel needs no system package
