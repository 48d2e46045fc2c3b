import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from numlearn import Status
from numlearn.linalg import hutchinson_trace


@pytest.fixture(scope="module")
def spd():
    rng = np.random.default_rng(0)
    n = 120
    B = rng.standard_normal((n, n))
    return B @ B.T / n + np.eye(n)


@pytest.fixture(scope="module")
def low_rank():
    rng = np.random.default_rng(1)
    n, rank = 400, 15
    U = rng.standard_normal((n, rank))
    E = rng.standard_normal((n, n))
    return U @ U.T + 1e-3 * (E + E.T) / 2


@pytest.mark.parametrize("batched", [False, True])
def test_rademacher_is_exact_on_diagonal(batched):
    d = np.random.default_rng(0).uniform(-3, 5, 50)
    res = hutchinson_trace(np.diag(d), 50, n_samples=7, random_state=0, batched=batched)
    assert res.converged and res.status is Status.SUCCESS
    assert isinstance(res.trace, float)
    assert abs(res.trace - d.sum()) <= 1e-12 * np.abs(d).sum()
    assert res.std_error <= 1e-12
    assert res.n_matvec == 7 and res.n_samples == 7


@pytest.mark.parametrize(
    ("distribution", "variance"),
    [
        ("rademacher", lambda A: 2 * (np.sum(A**2) - np.sum(np.diag(A) ** 2))),
        ("gaussian", lambda A: 2 * np.sum(A**2)),
    ],
)
def test_spd_estimate_and_standard_error(spd, distribution, variance):
    n_samples = 300
    res = hutchinson_trace(
        spd, spd.shape[0], n_samples=n_samples, distribution=distribution, random_state=3
    )
    exact = np.trace(spd)
    assert abs(res.trace - exact) <= 4 * res.std_error
    theory = np.sqrt(variance(spd) / n_samples)
    assert theory / 2 <= res.std_error <= 2 * theory, (res.std_error, theory)
    assert res.n_matvec == n_samples


def test_hutchpp_beats_hutchinson_on_low_rank(low_rank):
    A = low_rank
    n = A.shape[0]
    exact = np.trace(A)
    errors = {"hutchinson": [], "hutch++": []}
    for seed in range(5):
        for method in errors:
            res = hutchinson_trace(A, n, n_samples=60, method=method, random_state=seed)
            assert res.n_matvec == 60
            errors[method].append(abs(res.trace - exact))
    ratio = np.mean(errors["hutch++"]) / np.mean(errors["hutchinson"])
    # Measured about 2.5e-4: the sketch captures the rank-15 part exactly.
    assert ratio < 1e-2, ratio


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_batched_equals_unbatched(spd, method, distribution):
    n = spd.shape[0]
    kwargs = {"n_samples": 31, "method": method, "distribution": distribution}
    calls = {"vec": 0, "block": 0}

    def vec(v):
        assert v.shape == (n,)
        calls["vec"] += 1
        return spd @ v

    def block(V):
        assert V.ndim == 2 and V.shape[0] == n
        calls["block"] += 1
        return spd @ V

    a = hutchinson_trace(vec, n, random_state=5, **kwargs)
    b = hutchinson_trace(block, n, random_state=5, batched=True, **kwargs)
    np.testing.assert_allclose(b.trace, a.trace, rtol=1e-12)
    np.testing.assert_allclose(b.std_error, a.std_error, rtol=1e-9)
    assert a.n_matvec == b.n_matvec == 31 == calls["vec"]
    assert calls["block"] == (1 if method == "hutchinson" else 3)


@pytest.mark.parametrize("batched", [False, True])
def test_operator_forms(spd, batched):
    n = spd.shape[0]
    forms = [spd, sp.csr_matrix(spd), spla.aslinearoperator(spd)]
    values = [
        hutchinson_trace(f, n, n_samples=20, random_state=2, batched=batched).trace
        for f in forms
    ]
    np.testing.assert_allclose(values, values[0], rtol=1e-12)


def test_hutchpp_counts_and_small_n():
    A = np.arange(16.0).reshape(4, 4)  # not symmetric: the trace is still 30
    for n_samples in (3, 4, 5, 10):
        res = hutchinson_trace(A, 4, n_samples=n_samples, method="hutch++", random_state=0)
        assert res.n_matvec <= n_samples
        if n_samples // 3 < 4:
            assert res.n_matvec == n_samples
    # With n <= n_samples // 3 the sketch spans everything: exact, no probes left.
    res = hutchinson_trace(A, 4, n_samples=12, method="hutch++", random_state=0)
    assert res.trace == pytest.approx(30.0, rel=1e-12)
    assert res.std_error == 0.0 and res.n_samples == 0


def test_single_sample_has_zero_std_error(spd):
    res = hutchinson_trace(spd, spd.shape[0], n_samples=1, random_state=0)
    assert res.std_error == 0.0 and np.isfinite(res.trace)


def test_reproducible(spd):
    n = spd.shape[0]
    a = hutchinson_trace(spd, n, n_samples=10, random_state=11)
    b = hutchinson_trace(spd, n, n_samples=10, random_state=np.random.default_rng(11))
    c = hutchinson_trace(spd, n, n_samples=10, random_state=12)
    assert a.trace == b.trace and a.trace != c.trace


@pytest.mark.parametrize("method", ["hutchinson", "hutch++"])
def test_array_api_strict(spd, method):
    xps = pytest.importorskip("array_api_strict")
    n = spd.shape[0]
    A = xps.asarray(spd)
    seen = []

    def matvec(v):
        seen.append(type(v))
        return A @ v

    res = hutchinson_trace(matvec, n, n_samples=12, method=method, random_state=4, xp=xps)
    ref = hutchinson_trace(spd, n, n_samples=12, method=method, random_state=4)
    assert set(seen) == {type(A)}
    np.testing.assert_allclose(res.trace, ref.trace, rtol=1e-12)
    # The namespace is inferred from a dense array operator.
    res = hutchinson_trace(A, n, n_samples=12, method=method, random_state=4)
    np.testing.assert_allclose(res.trace, ref.trace, rtol=1e-12)


_A = np.eye(6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 6.0}, TypeError, "n must be an integer"),
        ({"n_samples": 0}, ValueError, "n_samples must be >= 1"),
        ({"n_samples": 2, "method": "hutch++"}, ValueError, "n_samples must be >= 3"),
        ({"distribution": "uniform"}, ValueError, "distribution must be one of"),
        ({"method": "xtrace"}, ValueError, "method must be one of"),
        ({"batched": "yes"}, TypeError, "batched must be a bool"),
        ({"random_state": -1}, ValueError, "random_state must be"),
        ({"matvec": np.eye(5)}, ValueError, r"matvec must have shape \(6, 6\)"),
        ({"matvec": 1.5}, TypeError, "matvec must be a callable"),
        ({"matvec": lambda v: v[:3]}, ValueError, r"matvec must return a vector of shape"),
        ({"matvec": lambda v: v[:3], "batched": True}, ValueError, "with batched=True"),
        ({"matvec": lambda v: v * np.inf}, ValueError, "matvec returned NaN or inf"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    args = {"matvec": _A, "n": 6}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        hutchinson_trace(args.pop("matvec"), args.pop("n"), **args)
