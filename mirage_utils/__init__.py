"""mirage_utils: the computations behind *The Mirage Book*.

Modules are named after the paper's concepts: ``scaling`` (the power-law math model), ``metrics`` (how outputs are
scored), ``resolution`` (how finite test sets limit what can be measured), ``emergence`` (the emergence score),
``plotting`` (one look for every figure) and ``seeding`` (one source of randomness).
"""

__version__ = "0.1.0"
