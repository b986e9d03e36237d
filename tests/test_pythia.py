"""Pythia's vendored evaluation results: hashes, parameter formula, tidy tables, recovered test-set sizes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirage_utils import data, pythia


def test_parameter_formula_on_70m() -> None:
    # PROVENANCE.md's check: 6 layers, d = 512.
    assert pythia.non_embedding_params(6, 512) == 18_915_328
    assert pythia.total_params(6, 512) == 70_426_624
    with pytest.raises(ValueError, match="positive"):
        pythia.non_embedding_params(0, 512)


def test_model_sizes_from_configs() -> None:
    sizes = pythia.model_sizes().set_index("size")
    assert list(sizes.index) == list(pythia.SIZES)
    assert sizes.loc["70m", "params_total"] == 70_426_624
    assert np.all(np.diff(sizes["params"].to_numpy()) > 0)  # nominal order is the parameter order
    # The 12B deduped config contradicts itself (num-layers 40, attention config 36): reported, not hidden.
    assert pythia.config_errata() == ("pythia-12b-deduped.yml: num-layers 40, attention config 36 (used)",)
    assert sizes.loc["12b", "n_layers"] == 36
    # Vocabulary padded per model-parallel rank (GPT-NeoX): Hugging Face's configs say 50,432 and 50,688.
    assert sizes["vocab"].to_dict() == {s: 50_304 for s in pythia.SIZES} | {"6.9b": 50_432, "12b": 50_688}
    assert sizes.loc["12b", "params_total"] == 11_846_072_320


def test_evals_table() -> None:
    e = data.pythia_evals()
    assert set(e["run"]) == {"standard", "deduped"}
    assert e.groupby("shots")["step"].nunique().to_dict() == {0: 27, 5: 15}
    assert e.groupby("shots")["task"].nunique().to_dict() == {0: 87, 5: 65}
    assert e.groupby(["shots", "model"])["step"].nunique().eq(e.groupby("shots")["step"].nunique()).all()
    assert e["model"].nunique() == 16
    assert (e["tokens"] == e["step"] * 2_097_152).all()
    n = e.groupby("task")["n"].first()
    expected = {"lambada_openai": 5153, "arc_easy": 2376, "piqa": 1838, "winogrande": 1267, "arc_challenge": 1172}
    expected |= {"sciq": 1000, "logiqa": 651, "wsc": 104}
    assert n[list(expected)].to_dict() == expected
    assert n[n.index.str.startswith("hendrycksTest-")].sum() == 14_042
    acc = e[e["metric"] == "acc"]
    correct = acc["value"] * acc["n"]
    assert np.allclose(correct, correct.round(), atol=1e-6)  # p * n is a whole number of examples
    ppl = e[(e["task"] == "lambada_openai") & (e["metric"] == "ppl")]
    assert (ppl["value"] > 1).all() and len(ppl) == 16 * 27 + 16 * 15


def test_recover_n() -> None:
    p, n = 0.3, 651
    se = np.sqrt(p * (1 - p) / (n - 1))
    assert pythia.recover_n(pd.Series([p, 0.0]), pd.Series([se, 0.0])).round().tolist()[0] == n
    assert np.isnan(pythia.recover_n(pd.Series([0.0]), pd.Series([0.0])).iloc[0])


def test_arithmetic_table() -> None:
    a = data.pythia_arithmetic()
    assert len(a) == 42_000
    assert sorted(a["shots"].unique()) == [0, 2, 4, 8, 16]
    assert a.groupby("size", observed=True)["checkpoint"].nunique().eq(6).all()
    assert set(a["operand"]) == set(range(100)) and (a["n"] == 50).all()
    assert (a["correct"] == (a["acc"] * 50).round()).all()
    assert a.loc[a["v0_name"] == "EleutherAI/pythia-125m-deduped", "size"].eq("160m").all()


def test_corrupted_member_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "pythia"
    shutil.copytree(data.THIRD_PARTY_DATA / "pythia", root)
    manifest = root / "MANIFEST.sha256"
    lines = manifest.read_text().splitlines()
    lines[0] = "0" * 64 + lines[0][64:]
    manifest.chmod(0o644)
    manifest.write_text("\n".join(lines) + "\n")
    monkeypatch.setitem(
        data.REGISTRY, "pythia/manifest", data.DataFile("pythia/MANIFEST.sha256", data.sha256_of(manifest), "test")
    )
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    data.path.cache_clear()
    pythia._manifest.cache_clear()
    pythia._members.cache_clear()
    try:
        with pytest.raises(data.DataFileError, match="does not match MANIFEST"):
            pythia._members()
    finally:
        data.path.cache_clear()
        pythia._manifest.cache_clear()
        pythia._members.cache_clear()


def test_missing_archive_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(data.REGISTRY, "pythia/evals", data.DataFile("pythia/absent.tar.xz", "0" * 64, "test"))
    data.path.cache_clear()
    try:
        with pytest.raises(data.DataFileError, match="absent.tar.xz"):
            data.path("pythia/evals")
    finally:
        data.path.cache_clear()
