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


def test_platform_record_names_the_machine_and_old_runs_read_unknown():
    import pandas as pd

    record = seeding.platform_record()
    assert tuple(record) == seeding.PLATFORM_KEYS and all(isinstance(v, str) and v for v in record.values())
    assert record["platform_numpy"] == np.__version__
    old_and_new = pd.DataFrame([{"model": "a"}, {"model": "b", **record}])
    filled = seeding.fill_platform(old_and_new)
    assert (filled.loc[0, list(seeding.PLATFORM_KEYS)] == seeding.UNKNOWN_PLATFORM).all()
    assert filled.loc[1, "platform_cpu"] == record["platform_cpu"]
