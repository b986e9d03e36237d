"""Third-party data with recorded provenance: find a file, check its SHA-256, or say exactly how to get it.

Search order for a registered file: ``$MIRAGE_DATA_DIR/<path>`` (a reader's own copies), then
``data/third_party/<path>`` inside the repository (every file the book reads is committed there, with its source's
licence), then (when the file has a public URL of its own and the reader is online) a download by ``pooch`` into
the user cache, verified against the same hash. A missing or corrupted file raises :class:`DataFileError` naming the
file and how to obtain it; nothing is ever silently substituted. Provenance of each source: ``data/README.md``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import pandas as pd

DATA_DIR_ENV = "MIRAGE_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY_DATA = REPO_ROOT / "data" / "third_party"  # one folder per source: PROVENANCE.md, LICENSE, the files

_MUKOBI = (
    "https://raw.githubusercontent.com/mukobi/GPT-3-Multiplication-Tables/63c437f235500b9ae8d01e78c414f9b8b61b6b79"
)
_OBS = "https://raw.githubusercontent.com/ryoungj/ObsScaling/4d6e1e43fd2635d04654aa77d1df9d5266ea0382"
_UKP = "https://raw.githubusercontent.com/UKPLab/on-emergence/f791b653c42251a4dbd0bdc7a064c41ea0a3c51b"


@dataclass(frozen=True)
class DataFile:
    """One registered file: where it lives below the data root, its hash, and where it comes from."""

    path: str
    sha256: str
    source: str  # short provenance line (details in data/README.md and the folder's PROVENANCE.md)
    url: str | None = None  # a public URL serving exactly these bytes, if one exists


def _mukobi(model: str, sha: str) -> DataFile:
    name = f"multiplication_data_{model}_0_100.csv"
    return DataFile(
        f"mukobi-gpt3-multiplication/data/{name}",
        sha,
        "Mukobi (2022), GPT-3 multiplication tables, MIT",
        f"{_MUKOBI}/data/{name}",
    )


_PYTHIA = "Biderman et al. (2023), Pythia evaluation results (github.com/EleutherAI/pythia a19eecb), Apache-2.0"
# Training configs of the 16 Pythia v1 models (8 sizes x 2 runs): the source of their parameter counts.
_PYTHIA_CONFIGS = {
    "pythia-70m": "0e0275b9be689b2cc063b5609937708a3e5fac8d3a27e8dbc7f308ebda5d0aac",
    "pythia-70m-deduped": "33f8405e393b22a694104a098960e7d1886f6c3579c6d97a7353177dbfed8a31",
    "pythia-160m": "c6db6d26dccc7040089191600bc75cbce21313b55007adcb6dda277f80d712f3",
    "pythia-160m-deduped": "75f520330d9cbc471409c87394daabcb8ed4eb6bb3659a5d294f5af6e10da8dc",
    "pythia-410m": "ca164a903f2328bb77ffa4cf8e6932d44c25af0af0b12526a81b560e616ada82",
    "pythia-410m-deduped": "0e521a39b3c555017853ae2bb975e6029a88f19c3ce468eb35e830f5981d7c9e",
    "pythia-1b": "da8bf3cbde81745d853ef269f732d97d6908cc02fa9d0b72a7700e144bb94eb3",
    "pythia-1b-deduped": "782b34635790430db6412a61e1178363881a4a9d2cdf9fea9bb1d96229fb51ed",
    "pythia-1.4b": "825cafe45af505e949ba485eb1d08eb90e90893210ab4cc745f0c426ec8c1370",
    "pythia-1.4b-deduped": "911a550f0f557853c808ed292d3ab3d1bc30543a1e7ca895bb697278bce9c75b",
    "pythia-2.8b": "e197ca42cd71eb27474810b6e929635b14d574a0042b483846420378fb721ead",
    "pythia-2.8b-deduped": "6df06980bfbdf731b248069ac1452a615893bf16bac06072a12e8b2bab4a1f66",
    "pythia-6.9b": "cccc57339db1167eb0c0d140e4d7f255592db17e2f22ad6337652e91f2a76a22",
    "pythia-6.9b-deduped": "fb377f56f77858f8eefc91a62949d5df9a4848081c5d8c0a20ad8f0bfcfb2c7a",
    "pythia-12b": "bac012070f553a9659ff1980d82ad773824a51388635345baf2e38c0f2df6e1d",
    "pythia-12b-deduped": "4ba2dd8945188db6f8e4621e435b76373dbdb5d1eeb46ec17df418b7ceb89ae4",
}


REGISTRY: dict[str, DataFile] = {
    "mukobi/text-ada-001": _mukobi(
        "GPT3-text-ada-001", "7b4bda97916b610bcc24c7a127442baa80544c5d7dc921456a0688bf693c2e10"
    ),
    "mukobi/text-babbage-001": _mukobi(
        "GPT3-text-babbage-001", "18cf43a39999684fc118fa16b650655391419df59cab259e908132cc0fce7fbc"
    ),
    "mukobi/text-curie-001": _mukobi(
        "GPT3-text-curie-001", "02bd8d1256d68e227d18fd7c729e830fba6d359b48bd4bf985dd1fb4533c930f"
    ),
    "mukobi/text-davinci-003": _mukobi(
        "GPT3-text-davinci-003", "abac82a9910e279acf7701cf11abc868b8d4cf273327fe53c0e98c2a2770e2fd"
    ),
    "mukobi/gpt-neo-1.3B": _mukobi(
        "HF-EleutherAI-gpt-neo-1.3B", "587c686876404f59c2d973eb4d63b5246b7d05527b59bc8875ffb22813ed000a"
    ),
    "mukobi/gpt2": _mukobi("HF-gpt2", "bb12e18310e56b6241467f29d261aeac14bde07ceb422fe4274f8e298d94100b"),
    "mukobi/prompt": DataFile(
        "mukobi-gpt3-multiplication/data/prompt.csv",
        "b302c5338f41b784dd37877cf3b9668a49b607e10222ef298c2eace18d53f495",
        "Mukobi (2022), GPT-3 multiplication tables, MIT",
        f"{_MUKOBI}/data/prompt.csv",
    ),
    "ukplab/evaluation_scores": DataFile(
        "ukplab-on-emergence/evaluation_scores.csv",
        "43159449c7c9a52e25f0f8499441f325ab72fbfdea55f51cf9547f3f24474a99",
        "Lu et al. (ACL 2024), CC BY-SA 4.0",
        f"{_UKP}/evaluation_scores.csv",
    ),
    "obsscaling/emergent": DataFile(
        "obsscaling-emergent/eval_results/base_llm_emergent_capability_eval.csv",
        "a156beee73c39b7833c3c53535c473939105512d85e90b0143be7325e516ef7c",
        "Ruan et al. (2024), Apache-2.0",
        f"{_OBS}/eval_results/base_llm_emergent_capability_eval.csv",
    ),
    "obsscaling/benchmark": DataFile(
        "obsscaling-emergent/eval_results/base_llm_benchmark_eval.csv",
        "511996815735a4c46251dc585dcc525e370d148201f86561e6f927f9df2d0db8",
        "Ruan et al. (2024), Apache-2.0",
        f"{_OBS}/eval_results/base_llm_benchmark_eval.csv",
    ),
    "bigbench/task_metadata": DataFile(
        "bigbench-pypi-tasks/task_metadata.csv",
        "8fd7be2df1e8fd374e191552bdd35663f8b2572872c6076464c78e29d6cc6c1e",
        "derived from the PyPI sdist bigbench==1.0.0",
    ),
    "bigbench/2_digit_multiplication": DataFile(
        "bigbench-pypi-tasks/bigbench/benchmark_tasks/arithmetic/2_digit_multiplication/task.json",
        "c83bb14b0ae1e118eee531003d552e299938452493fdb889164eae1d119eff89",
        "BIG-bench (PyPI sdist bigbench==1.0.0)",
    ),
    "bigbench/4_digit_addition": DataFile(
        "bigbench-pypi-tasks/bigbench/benchmark_tasks/arithmetic/4_digit_addition/task.json",
        "4167e3b74fa7fcf47072f0a281f2af5a97a467f37124c9e9fe53858f64c330bc",
        "BIG-bench (PyPI sdist bigbench==1.0.0)",
    ),
    "wei/emergent_tasks": DataFile(
        "wei-2022-emergent-list/bigbench_emergent_tasks.csv",
        "5d2641129ad7ab8f4c6ab23bcaef945c275950a4a9a4beb1585d4384a23c3d68",
        "transcribed from Wei (2022), blog post (48 of 67 entries)",
    ),
    "pythia/evals": DataFile(
        "pythia/evals.tar.xz", "62e142c185bcde222094fb64c3ddc8c04db4c0c0f95fd4ea3a4cf8d16f5b2568", _PYTHIA
    ),
    "pythia/manifest": DataFile(
        "pythia/MANIFEST.sha256", "a0af008ca2de2728c0b204028a16ca61c46da8e5d5fa4e670c6a891a344b2ab5", _PYTHIA
    ),
    **{
        f"pythia/models/{name}": DataFile(f"pythia/models/{name}.yml", sha, _PYTHIA)
        for name, sha in _PYTHIA_CONFIGS.items()
    },
}


class DataFileError(FileNotFoundError):
    """A registered data file is missing or does not match its recorded SHA-256."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def search_roots() -> list[Path]:
    """Folders searched, in order: $MIRAGE_DATA_DIR (if set), then the repository's data/third_party."""
    roots = [Path(os.environ[DATA_DIR_ENV]).expanduser()] if os.environ.get(DATA_DIR_ENV) else []
    return [*roots, THIRD_PARTY_DATA]


def _how_to_get(key: str, entry: DataFile) -> str:
    where = " or ".join(str(root / entry.path) for root in search_roots())
    if entry.url:
        fetch = f"download it from {entry.url} (needs network; done automatically when online)"
    else:
        fetch = "it has no download URL of its own: see data/README.md for the script or source that re-derives it"
    return f"Place {entry.path!r} at {where}, point {DATA_DIR_ENV} at a folder holding it, or {fetch}."


@cache
def path(key: str) -> Path:
    """Local path of the registered file ``key`` after its SHA-256 is verified (downloads only as a last resort)."""
    if key not in REGISTRY:
        raise ValueError(f"unknown data file {key!r}; known: {sorted(REGISTRY)}")
    entry = REGISTRY[key]
    for root in search_roots():
        candidate = root / entry.path
        if candidate.is_file():
            actual = sha256_of(candidate)
            if actual != entry.sha256:
                raise DataFileError(
                    f"{candidate} is corrupted or a different version: SHA-256 {actual}, expected {entry.sha256}. "
                    + _how_to_get(key, entry)
                )
            return candidate
    if entry.url:
        try:
            import pooch

            return Path(pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}", progressbar=False))
        except Exception as exc:  # network down, HTTP error or hash mismatch: report all the same way
            raise DataFileError(
                f"data file {key!r} not found locally and download failed ({exc}). " + _how_to_get(key, entry)
            ) from exc
    raise DataFileError(f"data file {key!r} not found. " + _how_to_get(key, entry))


def read_csv(key: str, **kwargs: Any) -> pd.DataFrame:
    """Read a registered CSV file (verified) with pandas."""
    return cast(pd.DataFrame, pd.read_csv(path(key), **kwargs))


def provenance(key: str) -> str:
    """One line naming the file, its source and licence, and its hash: printed by chapters that use it."""
    entry = REGISTRY[key]
    return f"{entry.path} ({entry.source}; sha256 {entry.sha256[:12]}...)"


# Approximate parameter counts of the models in Mukobi's files (the OpenAI sizes are the ones the mirage paper uses,
# footnote 3; the API never confirmed them; GPT-2 small is 124M).
GPT3_MULTIPLICATION_MODELS: dict[str, tuple[float, str]] = {
    "text-ada-001": (350e6, "InstructGPT"),
    "text-babbage-001": (1.3e9, "InstructGPT"),
    "text-curie-001": (6.7e9, "InstructGPT"),
    "text-davinci-003": (175e9, "InstructGPT"),
    "gpt2": (124e6, "open (Hugging Face)"),
    "gpt-neo-1.3B": (1.3e9, "open (Hugging Face)"),
}


def gpt3_multiplication_prompt() -> str:
    """The few-shot prefix every Mukobi query began with (its PROVENANCE.md: ``"Multiply:\\n41 * 70 = 2870\\n..."``),
    rebuilt from ``prompt.csv``: the numbers in it are answers a model could copy."""
    shots = read_csv("mukobi/prompt")
    return "Multiply:\n" + "".join(
        f"{a} * {b} = {c}\n" for a, b, c in shots[["a", "b", "completion"]].itertuples(index=False)
    )


def gpt3_multiplication() -> pd.DataFrame:
    """Mukobi's greedy completions for all 10,000 products a*b, a, b in 0..99, one row per model x problem.

    Columns: model, family, params, a, b, target (str of a*b), completion (str; NaN becomes ""). The ada file is
    cp1252, the others UTF-8 (see its PROVENANCE.md).
    """
    frames = []
    for model, (params, family) in GPT3_MULTIPLICATION_MODELS.items():
        encoding = "cp1252" if model == "text-ada-001" else "utf-8"
        df = read_csv(f"mukobi/{model}", encoding=encoding, dtype={"completion": str}, keep_default_na=False)
        df = df.assign(
            model=model,
            family=family,
            params=params,
            target=(df["a"] * df["b"]).astype(str),
            completion=df["completion"].fillna("").astype(str).str.strip(),
        )
        frames.append(df[["model", "family", "params", "a", "b", "target", "completion"]])
    out = pd.concat(frames, ignore_index=True)
    if (out.groupby("model").size() != 10_000).any():
        raise DataFileError("each Mukobi file must hold 10,000 rows (a, b in 0..99)")
    return out


def pythia_evals() -> pd.DataFrame:
    """Pythia v1's lm-eval results as a tidy table (model, run, size, params, step, tokens, shots, task, metric,
    value, stderr, n): see :func:`mirage_utils.pythia.pythia_evals`."""
    from . import pythia

    return pythia.pythia_evals()


def pythia_arithmetic() -> pd.DataFrame:
    """Pythia's real arithmetic (exact match per first operand, checkpoint and shots): see
    :func:`mirage_utils.pythia.pythia_arithmetic`."""
    from . import pythia

    return pythia.pythia_arithmetic()
