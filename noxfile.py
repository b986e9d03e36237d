"""nox sessions: the check (``mirage-check``, ``mirage_utils.checking``) installed with ``pip install .`` and tested on
every supported Python, apart from the book's environment.

Why: the book runs on one locked stack (constraints.txt, Python 3.11), but the check is meant to be installed where
researchers work, beside lm-eval and torch, on Python 3.10-3.13. So each session builds a fresh virtual environment,
installs the package from its pyproject.toml ranges (not the lock) with only the test tools, proves that neither torch
nor Jupyter came along, runs the console script once and then the check's tests against the installed copy.

    .venv/bin/nox                      # check-3.10 ... check-3.13 (newest releases in the ranges) and lowest
    .venv/bin/nox -s lowest            # Python 3.10 with every lower bound of pyproject.toml installed exactly

On a machine with pyenv, the pyenv versions are made visible to nox (PYENV_VERSION) when that variable is unset.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)  # from the classifiers: 3.10, 3.11, 3.12, 3.13
# Not there on purpose: a plain `pip install .` must not bring any of them.
HEAVY = ("torch", "IPython", "myst_nb", "jupyter_core", "ipykernel", "altair", "networkx")

nox.options.sessions = ["check", "lowest"]
nox.options.reuse_venv = "no"


def _expose_pyenv_versions() -> None:
    """pyenv's shims answer `python3.10` only for the active versions: activate every installed one we test."""
    if os.environ.get("PYENV_VERSION") or shutil.which("pyenv") is None:
        return
    installed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False).stdout
    wanted = [
        max(found, key=lambda v: tuple(int(p) for p in v.split(".")))
        for minor in PYTHONS
        if (found := [v for v in installed.split() if re.fullmatch(rf"{re.escape(minor)}\.\d+", v)])
    ]
    if wanted:
        os.environ["PYENV_VERSION"] = ":".join(wanted)


_expose_pyenv_versions()


def _clean_build() -> None:
    """Remove setuptools' build/ folder: `pip install .` copies build/lib into the wheel, so a module deleted from
    the source would otherwise still be installed and tested."""
    shutil.rmtree(ROOT / "build", ignore_errors=True)


def check_tests() -> list[str]:
    """The check's tests: tests/test_checking*.py. They read only tests/fixtures, never the repository's data, so
    they run against the installed copy (tests/test_check_inputs.py reads the committed family: a book test)."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_checking*.py"))


def _test_installed(session: nox.Session) -> None:
    probe = (
        "import importlib.util, sys, mirage_utils.checking, mirage_utils.checking.report; "
        f"heavy = [m for m in {HEAVY!r} if importlib.util.find_spec(m)]; "
        "assert not heavy, f'installed with the check: {heavy}'; "
        "assert 'site-packages' in mirage_utils.checking.__file__, mirage_utils.checking.__file__; "
        "print('mirage_utils from', mirage_utils.checking.__file__)"
    )
    tests = [str(ROOT / t) for t in check_tests()]
    # From a folder outside the repository, so that the installed copy is imported and tested, not ./mirage_utils.
    session.chdir(session.create_tmp())
    session.run("python", "-c", probe)
    session.run("mirage-check", "--help", silent=True)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *tests, *session.posargs, env={"OMP_NUM_THREADS": "2"})


@nox.session(python=PYTHONS)
def check(session: nox.Session) -> None:
    """`pip install ".[test]"`: the newest releases within pyproject.toml's ranges for this Python."""
    _clean_build()
    session.install(".[test]")
    _test_installed(session)


def lower_bounds(requirements: list[str]) -> list[str]:
    """`name==X` for every `name>=X` among the requirements: the oldest versions the ranges admit."""
    pins = []
    for req in requirements:
        found = re.match(r"^([A-Za-z0-9._-]+)\s*>=\s*([^,;\s]+)", req)
        if found:
            pins.append(f"{found[1]}=={found[2]}")
    return pins


@nox.session(python=PYTHONS[0])
def lowest(session: nox.Session) -> None:
    """The lower bounds tested: the dependencies and the test tools at exactly their `>=` versions, oldest Python."""
    project = PYPROJECT["project"]
    pins = lower_bounds([*project["dependencies"], *project["optional-dependencies"]["test"]])
    constraints = Path(session.create_tmp()) / "lowest.txt"
    constraints.write_text("\n".join(pins) + "\n")
    _clean_build()
    session.install("-c", str(constraints), ".[test]")
    session.run("python", "-m", "pip", "freeze", silent=False)
    _test_installed(session)
