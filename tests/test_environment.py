"""pyproject.toml declares ranges, constraints.txt (the lock) pins the book's exact versions within them, and
environment.yml installs the lock's versions; the check installs without torch or Jupyter; the CI/README commands
stay true."""

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# What the check must not need: the training stack, Jupyter and the chapters' own libraries.
NOT_FOR_THE_CHECK = ("torch", "IPython", "myst_nb", "jupyter_core", "ipykernel", "altair", "networkx", "rouge_score")


def _requirements() -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for listed in PROJECT["optional-dependencies"].values():
        reqs += [Requirement(r) for r in listed if not r.startswith("mirage_utils[")]  # `all`, `book`: other extras
    return reqs


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"constraints.txt: {line!r} is not pinned exactly (name==version)"
        assert canonicalize_name(name) not in pins, f"constraints.txt pins {name} twice"
        pins[canonicalize_name(name)] = version
    return pins


def _environment_pins() -> tuple[list[str], list]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pip_lists = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    return [p for p in pip_lists[0] if not p.startswith("-e")], deps


def test_pyproject_declares_ranges_with_a_tested_lower_bound():
    """Exact pins in pyproject.toml would make `pip install .` fail or downgrade beside lm-eval or torch."""
    for req in _requirements():
        ops = {spec.operator for spec in req.specifier}
        assert not ops & {"==", "==="}, f"{req} in pyproject.toml is an exact pin: pins go in constraints.txt"
        assert ">=" in ops, f"{req} in pyproject.toml has no lower bound (noxfile.py's `lowest` session tests them)"
    assert PROJECT["requires-python"] == ">=3.10"
    classifiers = {c.rsplit(" :: ", 1)[1] for c in PROJECT["classifiers"] if c.startswith("Programming Language")}
    assert classifiers == {"3.10", "3.11", "3.12", "3.13"}


def test_the_lock_pins_every_dependency_within_its_range():
    lock = _lock()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is a dependency but constraints.txt does not pin it"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={lock[name]}, outside pyproject.toml's range {req.specifier}"
        )


def test_environment_yml_installs_the_locks_versions_of_every_dependency():
    env_pins, deps = _environment_pins()
    lock = _lock()
    env = {}
    for pin in env_pins:
        name, sep, version = pin.partition("==")
        assert sep, f"environment.yml: {pin} is not pinned exactly"
        env[canonicalize_name(name)] = version
    wanted = {canonicalize_name(r.name): lock[canonicalize_name(r.name)] for r in _requirements()}
    assert env == wanted, (
        f"only in environment.yml: {sorted(set(env.items()) - set(wanted.items()))}; "
        f"the lock's versions of pyproject.toml's dependencies: {sorted(set(wanted.items()) - set(env.items()))}"
    )
    # The lock is made on Python 3.11, the Makefile's Python: environment.yml asks conda for the same.
    assert "python=3.11" in deps
    assert "PYTHON ?= python3.11" in (ROOT / "Makefile").read_text()


def test_makefile_installs_with_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert '-m pip install -q -c constraints.txt -e ".[all]"' in makefile
    assert "-m pip install -q -c constraints.txt torch" in makefile
    assert "$(STAMP): pyproject.toml constraints.txt" in makefile


def test_the_check_needs_neither_torch_nor_jupyter():
    """Base dependencies carry none of them, and a whole check run (CLI, report included) imports none of them."""
    base = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    heavy = {canonicalize_name(m) for m in NOT_FOR_THE_CHECK} | {"jupyter-book", "myst-nb", "rouge-score", "ipython"}
    assert not base & heavy, f"base dependencies the check does not need: {sorted(base & heavy)}"


def test_a_check_run_imports_neither_torch_nor_jupyter(tmp_path):
    rows = ["model,params,example_id,target,output"]
    for size, params, right in (("s", 10**6, 2), ("m", 10**7, 5), ("l", 10**8, 9)):  # `right` of 10 answers right
        rows += [f"{size},{params},{i},{i * 7},{i * 7 if i < right else i}" for i in range(10)]
    fixture = tmp_path / "family.csv"
    fixture.write_text("\n".join(rows) + "\n")
    code = (
        "import sys\n"
        "from mirage_utils.__main__ import check_main\n"
        f"status = check_main([{str(fixture)!r}, '--out', {str(tmp_path / 'report')!r}, '--quiet'])\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({NOT_FOR_THE_CHECK!r}))\n"
        "print(status, loaded)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "0 []", run.stdout
    assert (tmp_path / "report" / "report.html").exists()


@pytest.mark.parametrize("script", ["mirage-check"])
def test_console_script_is_the_check(script):
    target = PROJECT["scripts"][script]
    module, _, function = target.partition(":")
    assert (module, function) == ("mirage_utils.__main__", "check_main")
    from mirage_utils.__main__ import check_main

    with pytest.raises(SystemExit) as exc:
        check_main(["--help"])
    assert exc.value.code == 0


def test_readme_and_ci_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert "pip install" in readme and "mirage-check " in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make book" in ci


def test_binder_uses_the_same_environment():
    """Binder reads .binder/ (and then ignores the root files): its environment must be the root one, with the
    repository itself installed by postBuild instead of a relative `-e .`."""
    binder = [ln for ln in (ROOT / ".binder" / "environment.yml").read_text().splitlines() if not ln.startswith("#")]
    main = [
        ln
        for ln in (ROOT / "environment.yml").read_text().splitlines()
        if not ln.startswith("#")
        and ln.strip() not in ("- -e .", "# this repository, without re-resolving the pins above")
    ]
    assert binder == main
    assert "pip install --no-deps -e ." in (ROOT / ".binder" / "postBuild").read_text()
    assert "datasets install" in (ROOT / ".binder" / "postBuild").read_text()
    assert "dataset-fashion-mnist" in (ROOT / ".binder" / "apt.txt").read_text()
