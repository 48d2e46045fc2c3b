"""The primitives behind the one text of each OT loop (``numlearn/ot/_ops.py``): every
``Ops`` implementation (Numba for NumPy, whole-array for array-API libraries, CUDA kernels
for CuPy) against a plain NumPy / SciPy reference, in each namespace of the ``xp``
fixture."""

import numpy as np
import pytest
from scipy.special import logsumexp

from numlearn._backend import non_numpy_namespace, pick_ops, to_numpy
from numlearn.ot._ops import CudaOps, GenericOps, NumbaOps, Ops


def _ops(xp):
    ns = non_numpy_namespace(xp.asarray([1.0]))
    return pick_ops(ns, numpy=NumbaOps, array_api=GenericOps, cuda=CudaOps)(ns)


def _problem(n=13, m=9, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, m)), rng.standard_normal(n) * 0.1, rng.standard_normal(m) * 0.1


def test_ops_is_an_abstract_base_class():
    with pytest.raises(TypeError, match="abstract"):
        Ops()
    for cls in (NumbaOps, GenericOps, CudaOps):
        assert issubclass(cls, Ops) and not cls.__abstractmethods__


@pytest.mark.parametrize("reg", [1.0, 1e-2, 1e-4])
def test_log_sum_exp_primitives(xp, reg):
    M, f, g = _problem()
    ops = _ops(xp)
    Z = (f[:, None] + g[None, :] - M) / reg
    args = (xp.asarray(M), xp.asarray(f), xp.asarray(g), 1.0 / reg)
    np.testing.assert_allclose(to_numpy(ops.row_lse(*args)), logsumexp(Z, axis=1), rtol=1e-13,
                               atol=1e-12)
    np.testing.assert_allclose(to_numpy(ops.col_lse(*args)), logsumexp(Z, axis=0), rtol=1e-13,
                               atol=1e-12)


def test_plan_primitives(xp):
    M, f, g = _problem(seed=1)
    reg = 0.2
    ops = _ops(xp)
    xM, xf, xg = xp.asarray(M), xp.asarray(f), xp.asarray(g)
    P = np.exp((f[:, None] + g[None, :] - M) / reg)
    for fast in (False, True):
        got = ops.fill_plan(xM, xf, xg, 1.0 / reg, xM.dtype, fast=fast)
        np.testing.assert_allclose(to_numpy(got), P, rtol=1e-14)
    lo = float(M.min())
    K = ops.gibbs_kernel(xM, lo, 1.0 / reg)
    np.testing.assert_allclose(to_numpy(K), np.exp((lo - M) / reg), rtol=1e-14)
    u, v = np.exp((f - lo) / reg), np.exp(g / reg)
    plan, r, c, cost = ops.scale_plan_stats(K, xp.asarray(u), xp.asarray(v), xM)
    np.testing.assert_allclose(to_numpy(plan), P, rtol=1e-13)
    np.testing.assert_allclose(to_numpy(r), P.sum(1), rtol=1e-13)
    np.testing.assert_allclose(to_numpy(c), P.sum(0), rtol=1e-13)
    assert cost == pytest.approx(float((P * M).sum()), rel=1e-13)


def test_plan_state_and_schur_products(xp):
    # the SNS plan state of every ops: marginals, dual value, and Schur products equal to
    # the dense formulas with the sparsified plan (threshold 0: the whole plan)
    M, f, g = _problem(seed=2)
    reg = 0.1
    a, b = np.full(13, 1 / 13), np.full(9, 1 / 9)
    ops = _ops(xp)
    st = ops.plan_state(xp.asarray(M), 0.0, 9).evaluate(
        xp.asarray(M), xp.asarray(a), xp.asarray(b), xp.asarray(f), xp.asarray(g), reg)
    P = np.exp((f[:, None] + g[None, :] - M) / reg)
    np.testing.assert_allclose(to_numpy(st.r), P.sum(1), rtol=1e-13)
    np.testing.assert_allclose(to_numpy(st.c), P.sum(0), rtol=1e-13)
    assert st.dual == pytest.approx(a @ f + b @ g - reg * P.sum(), rel=1e-13)
    assert st.err == pytest.approx(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum(),
                                   rel=1e-12)
    S = st.sparse()
    rinv, cdiag = 1.0 / P.sum(1), P.sum(0) + 0.1
    matvec, diag = S.schur_g(xp.asarray(rinv), xp.asarray(cdiag))
    dense = np.diag(cdiag) - P.T @ np.diag(rinv) @ P
    w = np.linspace(-1.0, 1.0, 9)
    np.testing.assert_allclose(to_numpy(matvec(xp.asarray(w))), dense @ w, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(to_numpy(diag), np.diag(dense), rtol=1e-12, atol=1e-14)
