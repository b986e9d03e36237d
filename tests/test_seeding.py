"""Same seed, same numbers; bad seeds are rejected."""

import numpy as np
import pytest

from mirage_utils import seeding


def test_numpy_generator_is_reproducible():
    assert np.array_equal(seeding.rng(7).random(5), seeding.rng(7).random(5))
    assert not np.array_equal(seeding.rng(7).random(5), seeding.rng(8).random(5))


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_bad_seed(bad):
    with pytest.raises(ValueError):
        seeding.rng(bad)


def test_torch_generator_is_reproducible():
    torch = pytest.importorskip("torch")
    a = torch.rand(4, generator=seeding.torch_generator(3))
    b = torch.rand(4, generator=seeding.torch_generator(3))
    assert torch.equal(a, b)
