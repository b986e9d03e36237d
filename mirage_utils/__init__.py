"""mirage_utils: the computations behind *The Mirage Book*.

Modules are named after the paper's concepts: ``scaling`` (the power-law math model), ``metrics`` (how outputs are
scored), ``resolution`` (how finite test sets limit what can be measured), ``emergence`` (sharpness: Eq. 1 and
spacing-aware measures), ``math_model`` (Chapter 1's analyses of the math model), ``diagnosis`` (the mirage test),
``plotting`` (one look for every figure) and ``seeding`` (one source of randomness). Each experiment is a subpackage:
``arithmetic`` (the GPT family) and ``vision`` (Chapter 4: image data, the Omniglot-like set, models, training,
outcomes).
"""

from typing import Any

__version__ = "0.1.0"


def check(frame: Any, confidence: float = 0.95) -> dict[str, Any]:
    """Apply the book's tests to your own model family (see :mod:`mirage_utils.checking`); imported on first use so
    that ``import mirage_utils`` stays light."""
    from .checking import check as _check

    return _check(frame, confidence)
