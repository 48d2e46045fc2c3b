"""Modular arithmetic tables, the grokking data of Power et al. (2022)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from numlearn._validation import check_option, check_random_state, check_scalar

__all__ = ["ModularArithmetic", "modular_arithmetic"]

_OPERATIONS = ("+", "-", "*", "/", "x^2+y^2")


@dataclass
class ModularArithmetic:
    """A split of the table ``c = a ∘ b (mod p)``.

    Inputs are the concatenated one-hot codes ``[e_a, e_b]`` (``2p`` features), labels
    are ``c`` in ``0 … p-1``; ``pairs_train`` / ``pairs_test`` hold the ``(a, b)``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    pairs_train: np.ndarray
    pairs_test: np.ndarray
    p: int
    operation: str


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % k for k in range(2, int(p**0.5) + 1))


def modular_arithmetic(
    p: int = 97,
    operation: str = "+",
    *,
    train_fraction: float = 0.5,
    random_state: Any = None,
) -> ModularArithmetic:
    """All pairs ``(a, b)`` of ``Z_p`` labelled with ``a ∘ b mod p``, split at random.

    Parameters
    ----------
    p : int, default=97
        The modulus (prime for ``"/"``, where ``b`` ranges over ``1 … p-1`` and
        ``a / b = a b^{p-2}``).
    operation : {"+", "-", "*", "/", "x^2+y^2"}, default="+"
    train_fraction : float, default=0.5
        Fraction of the table used for training (grokking is studied at 0.3-0.5).
    random_state : None, int or Generator

    Returns
    -------
    data : ModularArithmetic

    References
    ----------
    .. [1] A. Power, Y. Burda, H. Edwards, I. Babuschkin and V. Misra, "Grokking:
       generalization beyond overfitting on small algorithmic datasets", 2022.

    Examples
    --------
    >>> from numlearn.datasets import modular_arithmetic
    >>> data = modular_arithmetic(7, "+", train_fraction=0.5, random_state=0)
    >>> data.X_train.shape[1], len(data.y_train) + len(data.y_test)
    (14, 49)
    >>> a, b = data.pairs_train[0]
    >>> int(data.y_train[0]) == int((a + b) % 7)
    True
    """
    p = check_scalar(p, "p", kind=int, low=2)
    check_option(operation, "operation", _OPERATIONS)
    train_fraction = check_scalar(train_fraction, "train_fraction", low=0.0, high=1.0,
                                  include_low=False, include_high=False)
    if operation == "/" and not _is_prime(p):
        raise ValueError(f"p must be prime for operation '/', got {p}.")
    rng = check_random_state(random_state)
    a, b = np.meshgrid(np.arange(p), np.arange(1 if operation == "/" else 0, p),
                       indexing="ij")
    a, b = a.ravel(), b.ravel()
    if operation == "+":
        c = (a + b) % p
    elif operation == "-":
        c = (a - b) % p
    elif operation == "*":
        c = (a * b) % p
    elif operation == "/":
        c = (a * np.array([pow(int(x), p - 2, p) for x in b])) % p
    else:
        c = (a * a + b * b) % p
    n = a.size
    order = rng.permutation(n)
    n_train = min(max(int(round(train_fraction * n)), 1), n - 1)
    X = np.zeros((n, 2 * p))
    X[np.arange(n), a] = 1.0
    X[np.arange(n), p + b] = 1.0
    pairs = np.stack([a, b], axis=1)
    tr, te = order[:n_train], order[n_train:]
    return ModularArithmetic(X[tr], c[tr].astype(np.int64), X[te], c[te].astype(np.int64),
                             pairs[tr], pairs[te], p, operation)
