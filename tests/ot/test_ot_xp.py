"""numlearn.ot.sinkhorn / sinkhorn_newton_sparse / SinkhornTransport in every array
namespace of the root ``xp`` fixture (NumPy, array_api_strict on CPU, CuPy on a GPU).

One suite for every path (the loops are one text over the ops of ``numlearn/ot/_ops.py``):
each namespace must reproduce the Numba (NumPy) reference: same plans and potentials to
1e-12, same iteration counts, histories, statuses, warnings and validation errors, with the
arrays returned in the inputs' namespace and dtype.
"""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import to_numpy
from numlearn._result import Status
from numlearn.datasets import ot_gaussian_clouds, ot_grid_1d
from numlearn.ot import sinkhorn, sinkhorn_newton_sparse

REGS = (1.0, 0.1, 0.01)


def _as(xp, *arrays):
    return tuple(None if x is None else xp.asarray(x) for x in arrays)


def _on_gpu(x) -> bool:
    return type(x).__module__.startswith("cupy")


def _assert_same(res, ref, atol=1e-12):
    """``res`` (outputs in any namespace) equals ``ref`` (the NumPy path) to ``atol``
    (GPU reductions sum in another order: to rounding there, iterations within one)."""
    if _on_gpu(res.plan):
        atol = max(atol, 1e-10)
        assert abs(res.n_iter - ref.n_iter) <= 1
        np.testing.assert_allclose(to_numpy(res.plan), ref.plan, rtol=0, atol=atol)
        return
    assert res.n_iter == ref.n_iter
    assert res.n_sinkhorn_iter == ref.n_sinkhorn_iter
    assert res.status is ref.status and res.converged == ref.converged
    np.testing.assert_allclose(to_numpy(res.plan), ref.plan, rtol=0, atol=atol)
    np.testing.assert_allclose(to_numpy(res.f), ref.f, rtol=0, atol=atol)
    np.testing.assert_allclose(to_numpy(res.g), ref.g, rtol=0, atol=atol)
    assert res.cost == pytest.approx(ref.cost, abs=atol)
    assert res.marginal_error == pytest.approx(ref.marginal_error, abs=atol)
    for name in ("cost", "marginal_error", "reg"):
        assert type(res[name]) is float


@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn"])
@pytest.mark.parametrize("reg", REGS)
@pytest.mark.parametrize("shape", [(30, 30), (40, 25)])
def test_matches_numpy_path(xp, method, reg, shape):
    a, b, M = ot_gaussian_clouds(*shape, random_state=3)
    ref = sinkhorn(a, b, M, reg, method=method, return_history=True)
    res = sinkhorn(*_as(xp, a, b, M), reg, method=method, return_history=True)
    assert ref.converged and ref.marginal_error <= 1e-9
    _assert_same(res, ref)
    for x in (res.plan, res.f, res.g):
        assert type(x) is type(xp.asarray(0.0))
        assert x.dtype == xp.float64
    assert res.plan.shape == shape and res.f.shape == (shape[0],) and res.g.shape == (shape[1],)
    # same stopping rule: the same marginal-error history, iteration by iteration
    assert isinstance(res.history, np.ndarray) and len(res.history) == res.n_iter
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-9, atol=1e-14)
    # the plan's marginals hold in the input namespace
    rows = to_numpy(xp.sum(res.plan, axis=1))
    np.testing.assert_allclose(rows, a, atol=1e-9)


def test_log_domain_small_reg_and_uniform_default(xp):
    # reg = 1e-3 underflows exp(-M/reg) entirely: only the log-sum-exp with the max shift works
    a, b, M = ot_gaussian_clouds(20, 15, random_state=1)
    ref = sinkhorn(None, None, M, 1e-3, max_iter=20000)
    res = sinkhorn(None, None, xp.asarray(M), 1e-3, max_iter=20000)
    assert ref.converged
    _assert_same(res, ref)


def test_scaling_underflow_is_reported_as_divergence(xp):
    a, b, M = ot_grid_1d(60)
    with pytest.warns(ConvergenceWarning, match="sinkhorn_log"):
        ref = sinkhorn(a, b, M, 1e-4, method="sinkhorn")
    with pytest.warns(ConvergenceWarning, match="sinkhorn_log"):
        res = sinkhorn(*_as(xp, a, b, M), 1e-4, method="sinkhorn")
    assert res.status is Status.DIVERGED is ref.status and not res.converged
    assert res.message == ref.message
    assert np.all(np.isfinite(to_numpy(res.plan)))
    assert res.n_iter == ref.n_iter


def test_max_iter_warns_like_numpy(xp):
    a, b, M = ot_gaussian_clouds(20, random_state=2)
    with pytest.warns(ConvergenceWarning) as rec:
        res = sinkhorn(*_as(xp, a, b, M), 0.01, max_iter=5)
    assert rec[0].filename == __file__  # the warning points at the caller
    with pytest.warns(ConvergenceWarning):
        ref = sinkhorn(a, b, M, 0.01, max_iter=5)
    assert res.status is Status.MAX_ITER and res.n_iter == 5
    _assert_same(res, ref)


def test_float32_in_float32_out(xp):
    a, b, M = ot_gaussian_clouds(25, 18, random_state=4)
    M32 = M.astype(np.float32)
    for method in ("sinkhorn_log", "sinkhorn"):
        # a float32 plan's marginals are only good to ~1e-7: a float32 tolerance
        ref = sinkhorn(a, b, M32, 0.05, method=method, tol=1e-5)
        res = sinkhorn(xp.asarray(a), xp.asarray(b), xp.asarray(M32), 0.05, method=method,
                       tol=1e-5)
        assert res.plan.dtype == res.f.dtype == res.g.dtype == xp.float32
        assert res.n_iter == ref.n_iter
        np.testing.assert_allclose(to_numpy(res.plan), ref.plan, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(to_numpy(res.f), ref.f, rtol=1e-5, atol=1e-6)


def test_zero_weights_init_callback(xp):
    a, b, M = ot_gaussian_clouds(12, 10, random_state=5)
    a[[0, 7]] = 0.0
    a /= a.sum()
    b[3] = 0.0
    b /= b.sum()
    init = (np.linspace(0, 0.1, 12), np.linspace(0.05, 0, 10))
    for method in ("sinkhorn_log", "sinkhorn"):
        seen = []
        ref = sinkhorn(a, b, M, 0.05, method=method, init=init)
        res = sinkhorn(*_as(xp, a, b, M), 0.05, method=method, init=_as(xp, *init),
                       callback=lambda f, g, seen=seen: seen.append(float(xp.sum(f))))
        _assert_same(res, ref)
        assert len(seen) == res.n_iter
        f = to_numpy(res.f)
        assert np.isneginf(f[[0, 7]]).all() and np.isneginf(to_numpy(res.g)[3])
        assert not to_numpy(res.plan)[[0, 7]].any() and not to_numpy(res.plan)[:, 3].any()


def test_callback_stop_and_list_weights(xp):
    a, b, M = ot_gaussian_clouds(15, random_state=6)

    def stop(f, g):
        raise StopIteration

    res = sinkhorn(list(a), list(b), xp.asarray(M), 0.01, callback=stop)  # no warning
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 1 and not res.converged
    ref = sinkhorn(a, b, M, 0.01, callback=stop)
    _assert_same(res, ref)


SNS_CASES = [
    ((30, 20), 0.01, {}),
    ((40, 25), 1e-3, {}),  # epsilon scaling over three stages
    ((25, 40), 0.01, dict(density=0.1)),  # top-k cap active, Schur complement in f
    ((30, 20), 0.01, dict(reg_schedule=(), threshold=0.0)),  # exact Newton, no scaling
    ((20, 20), 0.05, dict(n_sinkhorn=3, cg_rtol=1e-6, cg_maxiter=7)),  # log-domain warm-up
]


@pytest.mark.parametrize("shape, reg, options", SNS_CASES)
def test_sns_matches_numpy_path(xp, shape, reg, options):
    # the array-API SNS runs the same steps with dense masked products instead of the
    # Numba CSR kernels: the same iterates to rounding
    a, b, M = ot_gaussian_clouds(*shape, random_state=7)
    ref = sinkhorn_newton_sparse(a, b, M, reg, return_history=True, **options)
    res = sinkhorn_newton_sparse(*_as(xp, a, b, M), reg, return_history=True, **options)
    assert ref.converged and ref.n_newton_iter > 0
    _assert_same(res, ref)
    assert (res.n_newton_iter, res.n_cg_iter) == (ref.n_newton_iter, ref.n_cg_iter)
    assert res.n_sinkhorn_iter + res.n_newton_iter == res.n_iter
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-8, atol=1e-13)
    for x in (res.plan, res.f, res.g):
        assert type(x) is type(xp.asarray(0.0)) and x.dtype == xp.float64
    # sinkhorn(method="sns") is the same solver, options passed through
    res2 = sinkhorn(*_as(xp, a, b, M), reg, method="sns", tol=1e-10, **options)
    np.testing.assert_array_equal(to_numpy(res2.plan), to_numpy(res.plan))


def test_sns_float32_zero_weights_init_callback(xp):
    a, b, M = ot_gaussian_clouds(16, 12, random_state=5)
    a[[2, 9]] = 0.0
    a /= a.sum()
    b[4] = 0.0
    b /= b.sum()
    init = (np.linspace(0, 0.1, 16), np.linspace(0.05, 0, 12))
    seen = []
    ref = sinkhorn_newton_sparse(a, b, M, 0.02, init=init)
    res = sinkhorn_newton_sparse(*_as(xp, a, b, M), 0.02, init=_as(xp, *init),
                                 callback=lambda f, g: seen.append(type(f)))
    _assert_same(res, ref)
    assert len(seen) == res.n_iter and seen[0] is type(xp.asarray(0.0))
    assert np.isneginf(to_numpy(res.f)[[2, 9]]).all() and np.isneginf(to_numpy(res.g)[4])
    M32 = M.astype(np.float32)
    ref32 = sinkhorn_newton_sparse(a, b, M32, 0.02, tol=1e-5)
    res32 = sinkhorn_newton_sparse(*_as(xp, a, b, M32), 0.02, tol=1e-5)
    assert res32.plan.dtype == res32.f.dtype == xp.float32
    assert res32.n_iter == ref32.n_iter
    np.testing.assert_allclose(to_numpy(res32.plan), ref32.plan, rtol=1e-5, atol=1e-9)


def test_sns_max_iter_and_callback_stop(xp):
    a, b, M = ot_gaussian_clouds(25, 20, random_state=2)
    with pytest.warns(ConvergenceWarning) as rec:
        res = sinkhorn_newton_sparse(*_as(xp, a, b, M), 1e-3, max_newton_iter=2)
    assert rec[0].filename == __file__  # the warning points at the caller
    with pytest.warns(ConvergenceWarning):
        ref = sinkhorn_newton_sparse(a, b, M, 1e-3, max_newton_iter=2)
    assert res.status is Status.MAX_ITER is ref.status
    _assert_same(res, ref)

    def stop(f, g):
        raise StopIteration

    res = sinkhorn_newton_sparse(*_as(xp, a, b, M), 1e-3, callback=stop)
    ref = sinkhorn_newton_sparse(a, b, M, 1e-3, callback=stop)
    assert res.status is Status.CALLBACK_STOP and res.n_iter == 1
    _assert_same(res, ref)


def test_dense_sparsifier_matches_cpu_top_k_with_ties():
    xps = pytest.importorskip("array_api_strict")
    # the generic sparsifier keeps exactly the entries of the CPU top-k rule, ties included
    from numlearn.ot._kernels import row_topk
    from numlearn.ot._ops import DenseSparsified

    rng = np.random.default_rng(0)
    Y = np.round(rng.random((12, 15)) * 4) / 4  # many ties
    Y[3] = 0.5  # a constant row
    for threshold, cap in [(0.0, 4), (0.5, 3), (0.9, 15), (0.0, 15), (1.0, 1)]:
        indptr, indices, data = row_topk(Y, threshold, cap)
        expected = np.zeros_like(Y)
        mask = np.zeros(Y.shape, dtype=bool)
        for i in range(12):
            sl = slice(indptr[i], indptr[i + 1])
            expected[i, indices[sl]] = data[sl]
            mask[i, indices[sl]] = True
        S = DenseSparsified(xps.asarray(Y), threshold, cap, xps)
        np.testing.assert_array_equal(to_numpy(S.S), expected)
        assert S.nnz == mask.sum()
        v = rng.standard_normal(15)
        np.testing.assert_allclose(to_numpy(S.mv(xps.asarray(v))), expected @ v, rtol=1e-14)
    # the tie rule itself: a row [t, t, big], cap 2 keeps big and the first t
    S = DenseSparsified(xps.asarray([[0.5, 0.5, 1.0]]), 0.0, 2, xps)
    np.testing.assert_array_equal(to_numpy(S.S), [[0.5, 0.0, 1.0]])


def test_ops_selected_once_at_entry():
    xps = pytest.importorskip("array_api_strict")
    from numlearn._backend import non_numpy_namespace, pick_ops
    from numlearn.ot._ops import CudaOps, GenericOps, NumbaOps, Ops

    xp = non_numpy_namespace(xps.asarray(np.ones((2, 2))))
    cls = pick_ops(xp, numpy=NumbaOps, array_api=GenericOps, cuda=CudaOps)
    assert cls is GenericOps and issubclass(cls, Ops) and issubclass(CudaOps, GenericOps)
    assert pick_ops(None, numpy=NumbaOps, array_api=GenericOps) is NumbaOps


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(threshold=-0.1), ValueError, "threshold must be >= 0"),
        (dict(density=0.0), ValueError, "density must be > 0"),
        (dict(n_sinkhorn=-1), ValueError, "n_sinkhorn must be >= 0"),
        (dict(cg_rtol=0.0), ValueError, "cg_rtol must be > 0"),
        (dict(reg_schedule="fast"), ValueError, "reg_schedule must be 'auto'"),
        (dict(reg=-1.0), ValueError, "reg must be > 0"),
        (dict(a=[0.5, 0.5]), ValueError, "a must be a vector of length 3"),
        (dict(M=np.full((3, 3), np.inf)), ValueError, "M contains NaN"),
    ],
)
def test_sns_bad_input(xp, kwargs, error, match):
    args = dict(a=[0.2, 0.3, 0.5], b=[0.5, 0.25, 0.25], M=np.ones((3, 3)), reg=0.1)
    args.update(kwargs)
    a, b, M, reg = (args.pop(k) for k in ("a", "b", "M", "reg"))
    with pytest.raises(error, match=match):
        sinkhorn_newton_sparse(*_as(xp, a, b, M), reg, **args)


# --------------------------------------------------------------------------------------
# SinkhornTransport
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sns", "sinkhorn_log", "sinkhorn"])
@pytest.mark.parametrize("metric, norm", [("sqeuclidean", "max"), ("euclidean", "max"),
                                          ("cityblock", "median"), ("cosine", "max")])
def test_transport_estimator_matches_numpy(xp, method, metric, norm):
    from numlearn.ot import SinkhornTransport

    rng = np.random.default_rng(0)
    Xs = rng.standard_normal((25, 3))
    Xt = Xs[::-1] + np.array([3.0, 0.0, 1.0])
    Xnew = rng.standard_normal((6, 3))
    params = dict(reg=0.1, method=method, metric=metric, norm=norm)
    ref = SinkhornTransport(**params).fit(Xs, Xt)
    est = SinkhornTransport(**params).fit(xp.asarray(Xs), xp.asarray(Xt))
    assert est.n_iter_ == ref.n_iter_ and est.converged_
    assert est.cost_scale_ == ref.cost_scale_
    np.testing.assert_array_equal(to_numpy(est.cost_), ref.cost_)  # cdist's exact sums
    for name in ("coupling_", "f_", "g_", "mu_s_", "mu_t_"):
        value = getattr(est, name)
        assert type(value) is type(xp.asarray(0.0)), name
        np.testing.assert_allclose(to_numpy(value), getattr(ref, name), rtol=0, atol=1e-12)
    for X in (Xs, Xnew):
        T = est.transform(xp.asarray(X))
        assert type(T) is type(xp.asarray(0.0)) and T.dtype == xp.float64
        np.testing.assert_allclose(to_numpy(T), ref.transform(X), rtol=0, atol=1e-12)
    Tf = est.fit_transform(xp.asarray(Xs), xp.asarray(Xt))
    np.testing.assert_allclose(to_numpy(Tf), ref.transform(Xs), rtol=0, atol=1e-12)


def test_transport_estimator_weights_and_bad_input(xp):
    from numlearn.ot import SinkhornTransport

    rng = np.random.default_rng(1)
    Xs, Xt = rng.standard_normal((10, 2)), rng.standard_normal((8, 2)) + 2.0
    a = rng.random(10)
    a /= a.sum()
    ref = SinkhornTransport(reg=0.1, method="sns").fit(Xs, Xt, a=a)
    est = SinkhornTransport(reg=0.1, method="sns").fit(xp.asarray(Xs), xp.asarray(Xt),
                                                       a=xp.asarray(a))
    np.testing.assert_allclose(to_numpy(est.mu_s_), a, atol=1e-9)
    np.testing.assert_allclose(to_numpy(est.coupling_), ref.coupling_, rtol=0, atol=1e-12)
    if xp is not np:  # NumPy arrays mixed with another library's
        with pytest.raises(TypeError, match="single array library"):
            SinkhornTransport().fit(xp.asarray(Xs), Xt)
        with pytest.raises(TypeError, match="Xs must come from the array library"):
            est.transform(Xs)
    with pytest.raises(ValueError, match="Xs must have 2 features"):
        est.transform(xp.asarray(np.ones((3, 3))))
    with pytest.raises(ValueError, match="Xt contains NaN"):
        SinkhornTransport().fit(xp.asarray(Xs), xp.asarray(np.full((8, 2), np.nan)))
    with pytest.raises(ValueError, match="same number of features"):
        SinkhornTransport().fit(xp.asarray(Xs), xp.asarray(np.ones((8, 3))))


def test_inputs_not_modified(xp):
    a, b, M = ot_gaussian_clouds(10, random_state=8)
    xa, xb, xM = _as(xp, a, b, M)
    init = _as(xp, np.zeros(10), np.zeros(10))
    sinkhorn(xa, xb, xM, 0.05, init=init)
    for x, y in zip((xa, xb, xM) + init, (a, b, M, np.zeros(10), np.zeros(10))):
        np.testing.assert_array_equal(to_numpy(x), y)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(a=[-0.1, 0.6, 0.5]), ValueError, "a must be non-negative"),
        (dict(b=[np.nan, 0.5, 0.5]), ValueError, "b contains NaN"),
        (dict(a=[0.2, 0.2, 0.2]), ValueError, "same total mass"),
        (dict(a=[0.5, 0.5]), ValueError, "a must be a vector of length 3"),
        (dict(M=np.ones(3)), ValueError, "M must be 2-dimensional"),
        (dict(M=np.ones((3, 4))), ValueError, "b must be a vector of length 4"),
        (dict(M=np.full((3, 3), np.nan)), ValueError, "M contains NaN"),
        (dict(M=np.zeros((0, 3)), a=None, b=None), ValueError, "M must be non-empty"),
        (dict(a=[0.0, 0.0, 0.0], b=[0.0, 0.0, 0.0]), ValueError, "positive sum"),
        (dict(reg=0.0), ValueError, "reg must be > 0"),
        (dict(reg=np.nan), ValueError, "reg must be finite"),
        (dict(method="newton"), ValueError, "method must be one of"),
        (dict(tol=-1.0), ValueError, "tol must be >= 0"),
        (dict(max_iter=1.5), TypeError, "max_iter must be an integer"),
        (dict(init=np.zeros(3)), TypeError, "init must be a pair"),
        (dict(init=(np.zeros(3), np.zeros(2))), ValueError, "init\\[1\\] must be a vector"),
        (dict(init=(np.zeros(3), [0.0, np.inf, 0.0])), ValueError, "init\\[1\\] contains NaN"),
        (dict(callback=3), TypeError, "callback must be callable"),
        (dict(verbose=5), ValueError, "verbose must be <= 2"),
        (dict(n_sinkhorn=5), TypeError, "unexpected keyword argument"),
        (dict(method="sns", threshold=2.0), ValueError, "threshold must be <= 1"),
    ],
)
@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn"])
def test_bad_input(xp, kwargs, error, match, method):
    args = dict(a=[0.2, 0.3, 0.5], b=[0.5, 0.25, 0.25], M=np.ones((3, 3)), reg=0.1,
                method=method)
    args.update(kwargs)
    a, b, M, reg = (args.pop(k) for k in ("a", "b", "M", "reg"))
    a, b, M = _as(xp, a, b, M)
    if isinstance(args.get("init"), tuple):
        args["init"] = _as(xp, *args["init"])
    with pytest.raises(error, match=match):
        sinkhorn(a, b, M, reg, **args)


def test_mixed_namespaces_rejected():
    xps = pytest.importorskip("array_api_strict")
    a, b, M = ot_gaussian_clouds(5, random_state=9)
    with pytest.raises(TypeError, match="single array library"):
        sinkhorn(a, b, xps.asarray(M), 0.1)


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn", "sns"])
@pytest.mark.parametrize("reg", REGS)
def test_cupy_matches_numpy(method, reg):
    cupy = pytest.importorskip("cupy")
    a, b, M = ot_gaussian_clouds(60, 45, random_state=3)
    ref = sinkhorn(a, b, M, reg, method=method, return_history=True)
    res = sinkhorn(cupy.asarray(a), cupy.asarray(b), cupy.asarray(M), reg, method=method,
                   return_history=True)  # ConvergenceWarning is an error in the test config
    for x in (res.plan, res.f, res.g):
        assert isinstance(x, cupy.ndarray) and x.dtype == cupy.float64
    # GPU reductions sum in another order: agreement to rounding, not bit for bit
    assert abs(res.n_iter - ref.n_iter) <= 1
    np.testing.assert_allclose(res.plan.get(), ref.plan, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.f.get(), ref.f, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.g.get(), ref.g, rtol=0, atol=1e-10)
    assert res.marginal_error <= 1e-9 and type(res.cost) is float
    res32 = sinkhorn(cupy.asarray(a), cupy.asarray(b), cupy.asarray(M, dtype=cupy.float32), reg,
                     method=method, tol=1e-5)
    assert res32.plan.dtype == res32.f.dtype == cupy.float32
    np.testing.assert_allclose(res32.plan.get(), ref.plan, rtol=1e-4, atol=1e-7)


@pytest.mark.gpu
def test_cupy_transport_estimator():
    cupy = pytest.importorskip("cupy")
    from numlearn.ot import SinkhornTransport

    rng = np.random.default_rng(0)
    Xs = rng.standard_normal((80, 3))
    Xt = Xs + 2.0
    ref = SinkhornTransport(reg=0.02, norm="max").fit(Xs, Xt)
    est = SinkhornTransport(reg=0.02, norm="max").fit(cupy.asarray(Xs), cupy.asarray(Xt))
    assert isinstance(est.coupling_, cupy.ndarray) and isinstance(est.g_, cupy.ndarray)
    np.testing.assert_allclose(est.coupling_.get(), ref.coupling_, rtol=0, atol=1e-10)
    T = est.transform(cupy.asarray(Xs))
    assert isinstance(T, cupy.ndarray)
    np.testing.assert_allclose(T.get(), ref.transform(Xs), rtol=0, atol=1e-8)
