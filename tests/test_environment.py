"""environment.yml must install exactly the pins of pyproject.toml, and the CI/README commands must stay true."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_pins() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"])
    for _extra, reqs in project["optional-dependencies"].items():
        pins |= {r for r in reqs if not r.startswith("mirage_utils[")}
    return pins


def _environment_pins() -> tuple[set[str], list]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_lists = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    return {p for p in pip_lists[0] if not p.startswith("-e")}, deps


def test_every_pin_is_exact():
    for req in _pyproject_pins():
        assert "==" in req, f"{req} in pyproject.toml is not pinned exactly"


def test_environment_yml_matches_pyproject():
    env_pins, deps = _environment_pins()
    py_pins = _pyproject_pins()
    assert env_pins == py_pins, (
        f"only in environment.yml: {sorted(env_pins - py_pins)}; only in pyproject.toml: {sorted(py_pins - env_pins)}"
    )
    assert "python=3.11" in deps


def test_readme_and_ci_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make book" in ci


def test_binder_uses_the_same_environment():
    """Binder reads .binder/ (and then ignores the root files): its environment must be the root one, with the
    repository itself installed by postBuild instead of a relative `-e .`."""
    root = Path(__file__).resolve().parents[1]
    binder = [ln for ln in (root / ".binder" / "environment.yml").read_text().splitlines() if not ln.startswith("#")]
    main = [
        ln
        for ln in (root / "environment.yml").read_text().splitlines()
        if not ln.startswith("#")
        and ln.strip() not in ("- -e .", "# this repository, without re-resolving the pins above")
    ]
    assert binder == main
    assert "pip install --no-deps -e ." in (root / ".binder" / "postBuild").read_text()
    assert "datasets install" in (root / ".binder" / "postBuild").read_text()
    assert "dataset-fashion-mnist" in (root / ".binder" / "apt.txt").read_text()
