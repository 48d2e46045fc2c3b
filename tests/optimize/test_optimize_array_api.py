"""numlearn.optimize.minimize_eq on non-NumPy array-API inputs (array_api_strict; CuPy on GPU).

The generic path must reproduce the NumPy path: with the same ``random_state`` the same
iterates (``x``, ``v`` to 1e-10), iteration counts and statuses, with ``x`` and ``v``
returned in ``x0``'s namespace and the diagnostics as Python floats.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import NonlinearConstraint
from sklearn.exceptions import ConvergenceWarning

from numlearn._backend import to_numpy
from numlearn._result import Status
from numlearn.datasets import HS_PROBLEM_NAMES, hock_schittkowski, pde_control_problem
from numlearn.optimize import minimize_eq

xps = pytest.importorskip("array_api_strict")

HS = ("HS6", "HS26", "HS40", "HS46", "HS48", "HS56", "HS77", "HS79")


def _adapter(f, xp):
    """Wrap a NumPy callable: it takes and returns arrays of the namespace ``xp``."""

    def wrapped(*args):
        out = f(*(to_numpy(a) for a in args))
        if sp.issparse(out):
            out = out.toarray()
        return xp.asarray(np.asarray(out, dtype=np.float64))

    return wrapped


def _wrap_problem(pb, xp):
    cons = {"type": "eq", "fun": _adapter(pb.cons_fun, xp), "jac": _adapter(pb.cons_jac, xp),
            "hess": _adapter(pb.cons_hess, xp)}
    return dict(fun=_adapter(pb.fun, xp), jac=_adapter(pb.jac, xp),
                hess=_adapter(pb.hess, xp), constraints=cons), xp.asarray(pb.x0)


def _assert_same(res, ref, atol=1e-10):
    assert res.nit == ref.nit and res.n_inner == ref.n_inner
    assert res.status is ref.status and res.success == ref.success
    np.testing.assert_allclose(to_numpy(res.x), ref.x, rtol=0, atol=atol)
    np.testing.assert_allclose(to_numpy(res.v), ref.v, rtol=0, atol=atol)
    assert res.fun == pytest.approx(ref.fun, abs=atol)
    assert res.mu == ref.mu and res.nu == ref.nu
    for name in ("fun", "kkt_norm", "constr_violation"):
        assert type(res[name]) is float
    assert isinstance(res.history, np.ndarray) and len(res.history) == res.nit + 1
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-6, atol=max(1e-12, atol / 1e3))


def _assert_strict(res, n, m):
    for a, size in ((res.x, n), (res.v, m)):
        assert type(a) is type(xps.asarray(0.0))
        assert a.dtype == xps.float64 and a.shape == (size,)


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian", "direct"])
@pytest.mark.parametrize("name", HS)
def test_hs_matches_numpy_path(name, sketch):
    pb = hock_schittkowski(name)
    ref = minimize_eq(pb.fun, pb.x0, jac=pb.jac, hess=pb.hess, constraints=pb.constraints,
                      sketch=sketch, random_state=0)
    kwargs, x0 = _wrap_problem(pb, xps)
    res = minimize_eq(x0=x0, sketch=sketch, random_state=0, **kwargs)
    assert ref.success and ref.kkt_norm <= 1e-8
    # HS26 and HS46 have a singular reduced Hessian at the solution: x is determined only
    # to about sqrt(KKT tolerance), so the inner solver's rounding (the sketches run in
    # the input's namespace, in another summation order) moves x by ~1e-8 there
    _assert_same(res, ref, atol=1e-6 if name in ("HS26", "HS46") else 1e-10)
    _assert_strict(res, pb.n, pb.m)
    # a KKT point of the problem, checked independently on the host
    assert pb.kkt_norm(to_numpy(res.x), to_numpy(res.v)) <= 1e-8
    if pb.f_opt is not None and not pb.multimodal:
        assert res.fun == pytest.approx(pb.f_opt, abs=1e-6)


@pytest.mark.parametrize("sketch", ["uniform", "countsketch", "sparse_sign"])
def test_other_sketches_match(sketch):
    pb = hock_schittkowski("HS79")
    ref = minimize_eq(pb.fun, pb.x0, jac=pb.jac, hess=pb.hess, constraints=pb.constraints,
                      sketch=sketch, random_state=3)
    kwargs, x0 = _wrap_problem(pb, xps)
    res = minimize_eq(x0=x0, sketch=sketch, random_state=3, **kwargs)
    _assert_same(res, ref)
    _assert_strict(res, pb.n, pb.m)


def test_all_hs_direct_solve_kkt():
    """Every HS problem reaches a KKT point on the generic path with exact solves."""
    for name in HS_PROBLEM_NAMES:
        pb = hock_schittkowski(name)
        kwargs, x0 = _wrap_problem(pb, xps)
        res = minimize_eq(x0=x0, sketch="direct", **kwargs)
        assert res.success, name
        assert pb.kkt_norm(to_numpy(res.x), to_numpy(res.v)) <= 1e-8, name


def _circle(xp):
    """``min x₁ + x₂`` on the unit circle, written natively in ``xp``."""
    cons = {"type": "eq", "fun": lambda x: xp.reshape(x @ x - 1.0, (1,)),
            "jac": lambda x: 2.0 * x[None, :],
            "hess": lambda x, v: 2.0 * v[0] * xp.eye(2, dtype=xp.float64)}
    return dict(fun=lambda x: x[0] + x[1], jac=lambda x: xp.ones(2, dtype=xp.float64),
                constraints=cons)


def test_native_callables_closed_form():
    kw = _circle(xps)
    res = minimize_eq(x0=xps.asarray([-1.0, -0.5]), hess=lambda x: xps.zeros((2, 2),
                      dtype=xps.float64), sketch="kaczmarz", random_state=0, **kw)
    assert res.success
    r = 1.0 / math.sqrt(2.0)
    np.testing.assert_allclose(to_numpy(res.x), [-r, -r], atol=1e-9)
    np.testing.assert_allclose(to_numpy(res.v), [r], atol=1e-9)
    assert res.fun == pytest.approx(-math.sqrt(2.0), abs=1e-8)
    _assert_strict(res, 2, 1)


def test_hessp_nonlinear_constraint_lambda0_callback():
    pb = hock_schittkowski("HS40")
    hessp = lambda x, p: pb.hess(x) @ p  # noqa: E731
    lam0 = np.full(pb.m, 0.1)
    seen = []
    ref = minimize_eq(pb.fun, pb.x0, jac=pb.jac, hessp=hessp,
                      constraints=NonlinearConstraint(pb.cons_fun, 0.0, 0.0,
                                                      jac=pb.cons_jac, hess=pb.cons_hess),
                      lambda0=lam0, sketch="gaussian", random_state=1)
    a = lambda f: _adapter(f, xps)  # noqa: E731
    res = minimize_eq(a(pb.fun), xps.asarray(pb.x0), jac=a(pb.jac), hessp=a(hessp),
                      constraints=NonlinearConstraint(a(pb.cons_fun), 0.0, 0.0,
                                                      jac=a(pb.cons_jac),
                                                      hess=a(pb.cons_hess)),
                      lambda0=xps.asarray(lam0), sketch="gaussian", random_state=1,
                      callback=lambda r: seen.append(r))
    _assert_same(res, ref)
    assert res.nhev == ref.nhev == pb.n * ref.nit
    assert len(seen) == res.nit - 1
    assert type(seen[0].x) is type(xps.asarray(0.0)) and isinstance(seen[0].kkt_norm, float)


def test_sparse_callables_are_densified():
    """pde_control returns SciPy sparse matrices: the generic path makes them dense."""
    pb = pde_control_problem(5)
    ref = minimize_eq(pb.fun, pb.x0, jac=pb.jac, hess=pb.hess, constraints=pb.constraints,
                      sketch="direct")
    cons = dict(pb.constraints)
    cons["fun"] = _adapter(pb.cons_fun, xps)
    res = minimize_eq(_adapter(pb.fun, xps), xps.asarray(pb.x0), jac=_adapter(pb.jac, xps),
                      hess=pb.hess, constraints=cons, sketch="direct")
    assert ref.success and res.success and res.nit == ref.nit
    np.testing.assert_allclose(to_numpy(res.x), ref.x, atol=1e-10)
    np.testing.assert_allclose(to_numpy(res.v), ref.v, atol=1e-10)


def test_maxiter_warns_and_inputs_untouched():
    pb = hock_schittkowski("HS26")
    kwargs, x0 = _wrap_problem(pb, xps)
    before = to_numpy(x0).copy()
    with pytest.warns(ConvergenceWarning):
        res = minimize_eq(x0=x0, sketch="direct", maxiter=2, **kwargs)
    assert res.status is Status.MAX_ITER and not res.success and res.nit == 2
    np.testing.assert_array_equal(to_numpy(x0), before)


def test_bad_input():
    pb = hock_schittkowski("HS40")
    kwargs, x0 = _wrap_problem(pb, xps)
    with pytest.raises(TypeError, match="single array library"):
        minimize_eq(x0=x0, lambda0=np.zeros(pb.m), **kwargs)
    with pytest.raises(TypeError, match="x0"):
        minimize_eq(x0=list(pb.x0), lambda0=xps.zeros(pb.m), **kwargs)
    with pytest.raises(ValueError, match="x0"):
        minimize_eq(x0=xps.asarray([np.nan, 1.0, 1.0, 1.0]), **kwargs)
    with pytest.raises(ValueError, match="lambda0"):
        minimize_eq(x0=x0, lambda0=xps.zeros(pb.m + 1), **kwargs)
    with pytest.raises(ValueError, match="sketch"):
        minimize_eq(x0=x0, sketch="bogus", **kwargs)
    bad = dict(kwargs, jac=lambda x: xps.ones(pb.n + 1))
    with pytest.raises(ValueError, match=r"jac\(x0\)"):
        minimize_eq(x0=x0, **bad)
    bad = dict(kwargs, jac=lambda x: xps.full(pb.n, np.inf))
    with pytest.raises(ValueError, match="NaN or infinity"):
        minimize_eq(x0=x0, **bad)
    bad = dict(kwargs, fun=lambda x: xps.ones(2))
    with pytest.raises(ValueError, match="real scalar"):
        minimize_eq(x0=x0, **bad)
    bad = dict(kwargs, hess=None)
    with pytest.raises(TypeError, match="hess"):
        minimize_eq(x0=x0, **bad)


@pytest.mark.gpu
@pytest.mark.parametrize("sketch", ["direct", "kaczmarz"])
def test_cupy_matches_numpy(sketch):
    cupy = pytest.importorskip("cupy")
    pb = hock_schittkowski("HS79")
    ref = minimize_eq(pb.fun, pb.x0, jac=pb.jac, hess=pb.hess, constraints=pb.constraints,
                      sketch=sketch, random_state=0)
    kwargs, x0 = _wrap_problem(pb, cupy)
    res = minimize_eq(x0=x0, sketch=sketch, random_state=0, **kwargs)
    assert isinstance(res.x, cupy.ndarray) and isinstance(res.v, cupy.ndarray)
    _assert_same(res, ref)


@pytest.mark.gpu
def test_cupy_pde_control_direct():
    cupy = pytest.importorskip("cupy")
    pb = pde_control_problem(12)
    ref = minimize_eq(pb.fun, pb.x0, jac=pb.jac, hess=pb.hess, constraints=pb.constraints,
                      sketch="direct")
    kwargs, x0 = _wrap_problem(pb, cupy)
    res = minimize_eq(x0=x0, sketch="direct", **kwargs)
    assert isinstance(res.x, cupy.ndarray) and res.success and res.nit == ref.nit
    np.testing.assert_allclose(cupy.asnumpy(res.x), ref.x, atol=1e-9)
