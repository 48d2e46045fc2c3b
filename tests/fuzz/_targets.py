"""One fuzz target per public function or estimator (see ``_cases.py`` for the inputs).

A target draws a case from hypothesis' ``data`` and returns a :class:`Case`: the call,
the inputs to compare byte for byte before and after, whether the input is malformed
(``expect="refuse"``: a ``ValueError``/``TypeError`` is the only right answer) and a
check of an answer (None when right, else what is wrong).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from _cases import (
    BAD_VEC,
    effective,
    is_bad_matrix,
    low_precision,
    make_matrix,
    make_vector,
    matrix_form,
    normalize_corruption,
    rect,
    spd,
    vec_effective,
    vec_form,
)


@dataclass
class Case:
    desc: str
    call: Callable[[], Any]
    inputs: list
    expect: str  # "refuse" or "answer"
    check: Callable[[Any], str | None] = lambda res: None
    extra: dict = field(default_factory=dict)


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def _square_problem(data, *, dense=True, sparse=True, linop=False, n_low=1, n_high=6,
                    need_vector=True):
    rng = _rng(data)
    n = data.draw(st.integers(n_low, n_high), label="n")
    D = spd(n, rng)
    form, corruption = data.draw(matrix_form(dense, sparse, linop), label="A form")
    corruption = normalize_corruption(form, corruption)
    A = make_matrix(D, form, corruption, rng)
    bad = is_bad_matrix(form, corruption)
    out = dict(rng=rng, n=n, D=effective(D, form), A=A, form=form, corruption=corruption,
               bad=bad, desc=f"n={n} A={form}/{corruption}")
    if need_vector:
        v = rng.standard_normal(n)
        vf = data.draw(vec_form(), label="b form")
        if vf == "vec_short" and n == 1:
            vf = "vec"
        out.update(b=make_vector(v, vf), bv=vec_effective(v, vf), vf=vf,
                   bad=bad or vf in BAD_VEC, desc=out["desc"] + f" b={vf}")
    return out


def _bad_param(data, options):
    """Either {} or one keyword set out of range (drawn from ``options``)."""
    if not options or data.draw(st.integers(0, 3), label="bad param?"):  # 1 in 4
        return {}
    key = data.draw(st.sampled_from(sorted(options)), label="param")
    return {key: data.draw(st.sampled_from(options[key]), label="value")}


def _residual_check(P, x_of, rtol, atol=0.0, low=False):
    def check(res):
        x = np.asarray(x_of(res), dtype=np.float64)
        if x.shape != P["bv"].shape or not np.all(np.isfinite(x)):
            return f"x has shape {x.shape} or is not finite"
        r = np.linalg.norm(P["D"] @ x - P["bv"])
        slack = 1e-5 * (np.linalg.norm(P["D"]) * np.linalg.norm(x) + np.linalg.norm(P["bv"])) \
            if low else 1e-12 * np.linalg.norm(P["bv"])
        bound = 1.01 * max(rtol * np.linalg.norm(P["bv"]), atol) + slack
        if getattr(res, "converged", True) and r > bound:
            return f"converged but |b - A x| = {r:.3g} > {bound:.3g}"
        return None
    return check


def _expect(P, params):
    return "refuse" if P["bad"] or params else "answer"


# --------------------------------------------------------------------------------------
# linalg
# --------------------------------------------------------------------------------------
def t_cg(data):
    from numlearn.linalg import cg

    P = _square_problem(data, linop=True)
    params = _bad_param(data, {"rtol": [-1.0, np.nan, "1e-5"], "maxiter": [-1, 2.5],
                               "atol": [-1e-3, np.inf]})
    kw = {"rtol": 1e-8, **params}
    inputs = [P["A"], P["b"]]
    if data.draw(st.booleans(), label="M?"):  # a Jacobi preconditioner in any form
        dinv = np.diag(1.0 / np.diag(P["D"]))
        form, corruption = data.draw(matrix_form(linop=True), label="M form")
        corruption = normalize_corruption(form, corruption)
        kw["M"] = make_matrix(dinv, form, corruption, P["rng"])
        P["bad"] = P["bad"] or is_bad_matrix(form, corruption)
        P["desc"] += f" M={form}/{corruption}"
        inputs.append(kw["M"])
    low = low_precision(P["form"], P["vf"])
    return Case(P["desc"] + f" {params}", lambda: cg(P["A"], P["b"], **kw), inputs,
                _expect(P, params), _residual_check(P, lambda r: r.x, 1e-8, low=low))


def _sor_like(data, fn_name):
    import numlearn.linalg as L

    fn = getattr(L, fn_name)
    P = _square_problem(data)
    params = _bad_param(data, {"omega": [0.0, 2.0, -1.0, np.nan], "rtol": [-1.0],
                               "maxiter": [-5]})
    kw = {"rtol": 1e-8, **params}
    low = low_precision(P["form"], P["vf"])
    return Case(P["desc"] + f" {params}", lambda: fn(P["A"], P["b"], **kw),
                [P["A"], P["b"]], _expect(P, params),
                _residual_check(P, lambda r: r.x, 1e-8, low=low))


def t_sor(data):
    return _sor_like(data, "sor")


def t_ssor_cg(data):
    return _sor_like(data, "ssor_cg")


def t_optimal_omega(data):
    from numlearn.linalg import optimal_omega

    P = _square_problem(data, need_vector=False, n_low=2)
    params = _bad_param(data, {"tol": [-1.0, np.nan]})
    ref = optimal_omega(P["D"])

    def check(w):
        if not (0.0 < w < 2.0 and abs(w - ref) <= 1e-6 * ref):
            return f"omega {w} != {ref} (canonical float64 matrix)"
        return None
    return Case(P["desc"] + f" {params}", lambda: optimal_omega(P["A"], **params), [P["A"]],
                _expect(P, params), check)


def t_lanczos_eigsh(data):
    from numlearn.linalg import lanczos_eigsh

    P = _square_problem(data, linop=True, n_low=2, need_vector=False)
    n = P["n"]
    v0f = data.draw(st.sampled_from(["none", "vec", "vec_f16", "vec_f32", "vec_nan",
                                     "vec_complex", "zero"]), label="v0")
    v0 = None if v0f == "none" else np.zeros(n) if v0f == "zero" else \
        make_vector(P["rng"].standard_normal(n), v0f)
    params = _bad_param(data, {"k": [0, n + 1], "tol": [-1.0], "which": ["XX"]})
    bad = P["bad"] or v0f in ("vec_nan", "vec_complex", "zero") or params
    top = np.linalg.eigvalsh(P["D"])[-1]

    def check(res):
        lam = float(np.asarray(res.eigenvalues)[-1])
        low = low_precision(P["form"])
        if res.converged and abs(lam - top) > (1e-5 if low else 1e-6) * abs(top):
            return f"largest eigenvalue {lam} != {top}"
        return None
    return Case(P["desc"] + f" v0={v0f} {params}",
                lambda: lanczos_eigsh(P["A"], n, v0=v0, random_state=0, **params),
                [P["A"], v0], "refuse" if bad else "answer", check)


def t_hutchinson_trace(data):
    from numlearn.linalg import hutchinson_trace

    P = _square_problem(data, linop=True, need_vector=False)
    params = _bad_param(data, {"n_samples": [0, -1], "distribution": ["normalx"]})
    ref = hutchinson_trace(P["D"], P["n"], n_samples=8, random_state=0)

    def check(res):
        if not np.isclose(res.trace, ref.trace, rtol=1e-5 if low_precision(P["form"])
                          else 1e-9):
            return f"trace {res.trace} != {ref.trace} on the canonical matrix"
        return None
    return Case(P["desc"] + f" {params}",
                lambda: hutchinson_trace(P["A"], P["n"], n_samples=8, random_state=0,
                                         **params),
                [P["A"]], _expect(P, params), check)


def t_sketch_and_project(data):
    from numlearn.linalg import sketch_and_project

    P = _square_problem(data)
    params = _bad_param(data, {"block_size": [0, -1], "sketch": ["gauss"], "rtol": [-1.0]})
    low = low_precision(P["form"], P["vf"])
    return Case(P["desc"] + f" {params}",
                lambda: sketch_and_project(P["A"], P["b"], rtol=1e-6, random_state=0,
                                           maxiter=20000, **params),
                [P["A"], P["b"]], _expect(P, params),
                _residual_check(P, lambda r: r.x, 1e-6, low=low))


def t_sketch_apply(data):
    from numlearn.linalg import sketch_operator

    rng = _rng(data)
    n, k = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    D = rect(n, k, rng)
    form, corruption = data.draw(matrix_form(), label="A form")
    corruption = normalize_corruption(form, corruption)
    A = make_matrix(D, form, corruption, rng)
    kind = data.draw(st.sampled_from(["gaussian", "countsketch", "sparse_sign", "srht"]))
    S = sketch_operator(kind, 1 if n == 1 else min(3, n), n, random_state=0)
    ref = S.toarray() @ effective(D, form)

    def check(out):
        out = out.toarray() if sp.issparse(out) else np.asarray(out, dtype=np.float64)
        tol = 1e-3 if low_precision(form) else 1e-10
        if out.shape != ref.shape or not np.allclose(out, ref, rtol=tol, atol=tol):
            return "S @ A differs from S.toarray() @ A"
        return None
    return Case(f"{kind} n={n} A={form}/{corruption}", lambda: S @ A, [A],
                "refuse" if is_bad_matrix(form, corruption) else "answer", check)


def t_omega_tuner(data):
    from numlearn.tuning import OmegaTuner

    P = _square_problem(data)
    low = low_precision(P["form"], P["vf"])
    return Case(P["desc"],
                lambda: OmegaTuner(random_state=0, rtol=1e-8).solve(P["A"], P["b"]),
                [P["A"], P["b"]], _expect(P, {}),
                _residual_check(P, lambda r: r.x, 1e-8, low=low))


# --------------------------------------------------------------------------------------
# linear models
# --------------------------------------------------------------------------------------
def _regression(data, classification=False, estimator=False):
    rng = _rng(data)
    n, p = data.draw(st.integers(3, 12), label="n"), data.draw(st.integers(1, 6), label="p")
    D = rect(n, p, rng)
    form, corruption = data.draw(matrix_form(), label="X form")
    corruption = normalize_corruption(form, corruption)
    X = make_matrix(D, form, corruption, rng)
    y = D @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)
    if classification:
        y = (y > np.median(y)).astype(float)
        if y.min() == y.max():
            y[0] = 1 - y[0]
    yf = data.draw(vec_form(), label="y form")
    yv = make_vector(y, yf)
    # scikit-learn's convention for estimators: an object array of numbers is accepted
    x_object = estimator and corruption == "object" and form.startswith("dense")
    y_object = estimator and yf == "vec_object" and not classification
    bad = (is_bad_matrix(form, corruption) and not x_object) or (yf in BAD_VEC
                                                                and not y_object)
    if classification and yf in ("vec_nan", "vec_inf"):
        bad = True
    return dict(D=effective(D, form), X=X, y=yv, yv=vec_effective(y, yf), bad=bad,
                form=form, yf=yf, desc=f"{n}x{p} X={form}/{corruption} y={yf}")


def _sk_lasso_check(P, alpha, l1_ratio=1.0, coef_of=lambda r: r.coef, fit_intercept=False):
    from sklearn.linear_model import ElasticNet as SkEnet

    if P["bad"]:
        return lambda res: None
    sk = SkEnet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept, tol=1e-12,
                max_iter=100000).fit(P["D"], P["yv"])

    def check(res):
        coef = np.asarray(coef_of(res), dtype=np.float64).ravel()
        scale = 1e-3 if low_precision(P["form"], P["yf"]) else 1e-4
        if not np.allclose(coef, sk.coef_, atol=scale * (1 + np.abs(sk.coef_).max())):
            return f"coef {coef} != scikit-learn's {sk.coef_}"
        return None
    return check


def t_coordinate_descent(data):
    from numlearn.linear_model import L1, Quadratic, coordinate_descent

    P = _regression(data)
    params = _bad_param(data, {"tol": [-1.0], "max_iter": [-1], "selection": ["best"]})
    return Case(P["desc"] + f" {params}",
                lambda: coordinate_descent(P["X"], P["y"], Quadratic(), L1(0.05), tol=1e-10,
                                           max_iter=5000, **params),
                [P["X"], P["y"]], _expect(P, params), _sk_lasso_check(P, 0.05))


def _estimator_case(data, make, check_factory, classification=False):
    P = _regression(data, classification, estimator=True)
    bad_params = _bad_param(data, {"alpha": [-1.0], "max_iter": [-3], "tol": [-1.0]})
    est = make(bad_params)
    return Case(P["desc"] + f" {bad_params}", lambda: est.fit(P["X"], P["y"]),
                [P["X"], P["y"]], _expect(P, bad_params), check_factory(P))


def t_lasso(data):
    from numlearn.linear_model import Lasso

    return _estimator_case(
        data, lambda kw: Lasso(**{"alpha": 0.05, "fit_intercept": False, "tol": 1e-10,
                                  "max_iter": 5000, **kw}),
        lambda P: _sk_lasso_check(P, 0.05, coef_of=lambda e: e.coef_))


def t_elasticnet(data):
    from numlearn.linear_model import ElasticNet

    return _estimator_case(
        data, lambda kw: ElasticNet(**{"alpha": 0.05, "l1_ratio": 0.5, "fit_intercept": False,
                                       "tol": 1e-10, "max_iter": 5000, **kw}),
        lambda P: _sk_lasso_check(P, 0.05, 0.5, coef_of=lambda e: e.coef_))


def t_logistic_regression(data):
    from numlearn.linear_model import LogisticRegression

    def check_factory(P):
        if P["bad"]:
            return lambda est: None
        ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=5000).fit(P["D"], P["yv"])

        def check(est):
            # the duality gap stops at ~tol: the coefficients agree to ~sqrt(tol)
            tol = 1e-3 if low_precision(P["form"], P["yf"]) else 1e-4
            if not np.allclose(est.coef_, ref.coef_, atol=tol * (1 + np.abs(ref.coef_).max())):
                return f"coef {est.coef_} != {ref.coef_} on the canonical float64 X"
            return None
        return check

    def make(kw):
        kw = {("C" if k == "alpha" else k): v for k, v in kw.items()}
        return LogisticRegression(**{"C": 1.0, "tol": 1e-10, "max_iter": 5000, **kw})
    return _estimator_case(data, make, check_factory, classification=True)


# --------------------------------------------------------------------------------------
# completion
# --------------------------------------------------------------------------------------
def _observed(data, allow_duplicates, nonnegative=False):
    rng = _rng(data)
    m, n = data.draw(st.integers(3, 7), label="m"), data.draw(st.integers(3, 7), label="n")
    L = np.outer(rng.standard_normal(m), rng.standard_normal(n))
    mask = rng.random((m, n)) < 0.7
    mask[np.arange(m), np.arange(m) % n] = True
    mask[np.arange(n) % m, np.arange(n)] = True
    D = np.where(mask, np.round(L, 3) + 0.0, 0.0)
    D[mask & (D == 0)] = 0.5
    if nonnegative:  # interaction strengths
        D = np.abs(D)
    form, corruption = data.draw(matrix_form(dense=False), label="M form")
    corruption = normalize_corruption(form, corruption)
    if corruption == "explicit_zero":  # an explicit zero is an observation: changes M
        corruption = "none"
    A = make_matrix(D, form, corruption, rng)
    bad = is_bad_matrix(form, corruption) or (corruption == "duplicate"
                                              and not allow_duplicates)
    return dict(D=D, A=A, bad=bad, desc=f"{m}x{n} M={form}/{corruption}")


def t_altmin(data):
    from numlearn.completion import altmin

    P = _observed(data, allow_duplicates=False)
    params = _bad_param(data, {"rank": [0, 50], "reg": [-1.0], "max_iter": [-1]})
    kw = {"rank": 1, "reg": 1e-3, "max_iter": 30, "random_state": 0, **params}
    canonical = sp.csr_matrix(P["D"])
    ref = None if P["bad"] or params else altmin(canonical, 1, reg=1e-3, max_iter=30,
                                                  random_state=0)

    def check(res):
        if not np.allclose(res.U @ res.V.T, ref.U @ ref.V.T, rtol=1e-8, atol=1e-10):
            return "U Vᵀ differs from that of the canonical CSR observations"
        return None
    return Case(P["desc"] + f" {params}", lambda: altmin(P["A"], **kw), [P["A"]],
                _expect(P, params), check)


def t_implicit_als(data):
    """Implicit feedback: duplicates are an error for the function (the estimator sums
    them); the factors must be those of the canonical CSR interactions."""
    from numlearn.completion import implicit_als

    P = _observed(data, allow_duplicates=False, nonnegative=True)
    params = _bad_param(data, {"rank": [0, 50], "reg": [-1.0], "alpha": [-1.0],
                               "max_iter": [-1], "cg_steps": [0]})
    kw = {"rank": 1, "reg": 0.1, "alpha": 2.0, "max_iter": 5, "solver": "cholesky",
          "random_state": 0, **params}
    ref = None if P["bad"] or params else implicit_als(
        sp.csr_matrix(P["D"]), 1, reg=0.1, alpha=2.0, max_iter=5, solver="cholesky",
        random_state=0)

    def check(res):
        if not np.allclose(res.U @ res.V.T, ref.U @ ref.V.T, rtol=1e-8, atol=1e-10):
            return "U Vᵀ differs from that of the canonical CSR interactions"
        return None
    return Case(P["desc"] + f" {params}", lambda: implicit_als(P["A"], **kw), [P["A"]],
                _expect(P, params), check)


def t_altmin_completion(data):
    from numlearn.completion import AltMinCompletion

    P = _observed(data, allow_duplicates=True)
    make = lambda: AltMinCompletion(rank=1, reg=1e-3, max_iter=30, random_state=0)  # noqa
    ref = None if P["bad"] else make().fit(sp.csr_matrix(P["D"])).transform(
        sp.csr_matrix(P["D"]))

    def check(out):
        if not np.allclose(out, ref, rtol=1e-8, atol=1e-10):
            return "completion differs from that of the canonical CSR matrix"
        return None
    return Case(P["desc"], lambda: make().fit(P["A"]).transform(P["A"]), [P["A"]],
                _expect(P, {}), check)


def t_predict_entries(data):
    from numlearn.completion import predict_entries

    rng = _rng(data)
    m, n, r = (data.draw(st.integers(1, 5)) for _ in range(3))
    U, V = rng.standard_normal((m, r)), rng.standard_normal((n, r))
    k = data.draw(st.integers(0, 6))
    rows, cols = rng.integers(0, m, k), rng.integers(0, n, k)
    variant = data.draw(st.sampled_from(["ok"] * 4 + ["ok_int32", "ok_list", "rank", "nan_u",
                                                      "float_rows", "row_out", "col_neg",
                                                      "complex_v", "shape"]))
    if variant == "ok_int32":
        rows, cols = rows.astype(np.int32), cols.astype(np.int32)
    elif variant == "ok_list":
        rows, cols = rows.tolist(), cols.tolist()
    elif variant == "rank":
        V = rng.standard_normal((n, r + 1))
    elif variant == "nan_u":
        U[0, 0] = np.nan
    elif variant == "float_rows":
        rows = rows + 0.5 if k else np.array([0.5])
        cols = cols if k else np.array([0])
    elif variant == "row_out":
        rows, cols = np.append(rows, m), np.append(cols, 0)
    elif variant == "col_neg":
        rows, cols = np.append(rows, 0), np.append(cols, -1)
    elif variant == "complex_v":
        V = V + 1j
    elif variant == "shape":
        cols = np.append(cols, 0)
    ref = (U @ V.T)[np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)] \
        if variant.startswith("ok") else None

    def check(out):
        if not np.allclose(out, ref, rtol=1e-12, atol=1e-12):
            return f"{out} != (U Vᵀ)[rows, cols] = {ref}"
        return None
    return Case(f"{m}x{n} rank {r} k={k} {variant}",
                lambda: predict_entries(U, V, rows, cols), [U, V, rows, cols],
                "answer" if variant.startswith("ok") else "refuse", check)


# --------------------------------------------------------------------------------------
# optimal transport
# --------------------------------------------------------------------------------------
def _ot_problem(data):
    rng = _rng(data)
    n, m = data.draw(st.integers(1, 6), label="n"), data.draw(st.integers(1, 6), label="m")
    C = np.round(rng.random((n, m)), 3)
    form = data.draw(st.sampled_from(["dense", "dense_F", "dense_readonly", "dense_strided",
                                      "dense_f32", "dense_int", "list", "nan", "inf",
                                      "complex", "object", "negative"]), label="M form")
    if form in ("nan", "inf", "complex", "object"):
        M = make_matrix(C, "dense", form, rng)
    elif form == "negative":  # negative costs are valid (a shift of the potentials)
        M = C - 0.5
    else:
        M = make_matrix(C, form, "none", rng)
    Mv = effective(C - 0.5 if form == "negative" else C, form)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    wf = data.draw(st.sampled_from(["ok"] * 6 + ["a_nan", "a_negative", "mass", "b_short",
                                                 "a_zero_entry"]), label="weights")
    if wf == "a_nan":
        a[0] = np.nan
    elif wf == "a_negative" and n > 1:
        a[0], a[-1] = -a[0], a[-1] + 2 * a[0]
    elif wf == "mass":
        b = 2 * b
    elif wf == "b_short" and m > 1:
        b = b[:-1] / b[:-1].sum()
    elif wf == "a_zero_entry" and n > 1:  # valid: a row without mass
        a[-1] = 0.0
        a = a / a.sum()
    reg = data.draw(st.sampled_from([0.05, 0.1, 0.5, 1.0] * 3 + [1e-3, 1e-300, 1e300, 0.0,
                                                                   -1.0, np.nan]), label="reg")
    bad = (form in ("nan", "inf", "complex", "object") or wf in ("a_nan", "mass")
           or (wf == "a_negative" and n > 1) or (wf == "b_short" and m > 1)
           or not reg > 0 or not np.isfinite(reg))
    return dict(M=M, Mv=Mv, a=a, b=b, reg=reg, bad=bad, form=form,
                desc=f"{n}x{m} M={form} weights={wf} reg={reg}")


def _plan_check(P, plan_of, marginal_tol):
    import ot as pot

    def check(res):
        plan = np.asarray(plan_of(res), dtype=np.float64)
        if plan.shape != P["Mv"].shape or not np.all(np.isfinite(plan)) or plan.min() < 0:
            return "plan is not a finite non-negative array of M's shape"
        err = np.abs(plan.sum(1) - P["a"]).sum() + np.abs(plan.sum(0) - P["b"]).sum()
        if err > marginal_tol:
            return f"marginal error {err:.3g}"
        if 0.05 <= P["reg"] <= 1.0 and not low_precision(P["form"]):
            ref = pot.sinkhorn(P["a"], P["b"], P["Mv"], P["reg"], method="sinkhorn_log",
                               stopThr=1e-13, numItermax=100000)
            if not np.allclose(plan, ref, atol=1e-6):
                return "plan differs from POT's"
        return None
    return check


def _sinkhorn_target(method):
    def target(data):
        from numlearn.ot import sinkhorn

        P = _ot_problem(data)
        check = _plan_check(P, lambda r: r.plan, 1e-6)

        def honest(res):  # converged must mean the marginals are met
            return check(res) if res.converged else None
        return Case(P["desc"] + f" method={method}",
                    lambda: sinkhorn(P["a"], P["b"], P["M"], P["reg"], method=method,
                                     max_iter=3000),
                    [P["M"], P["a"], P["b"]], "refuse" if P["bad"] else "answer", honest)
    return target


def t_sinkhorn_newton_sparse(data):
    from numlearn.ot import sinkhorn_newton_sparse

    P = _ot_problem(data)
    check = _plan_check(P, lambda r: r.plan, 1e-6)
    return Case(P["desc"],
                lambda: sinkhorn_newton_sparse(P["a"], P["b"], P["M"], P["reg"],
                                               max_newton_iter=50),
                [P["M"], P["a"], P["b"]], "refuse" if P["bad"] else "answer",
                lambda res: check(res) if res.converged else None)


def t_sinkhorn_transport(data):
    from numlearn.ot import SinkhornTransport

    rng = _rng(data)
    n, m, d = (data.draw(st.integers(1, 5)) for _ in range(3))
    Xs, Xt = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    form = data.draw(st.sampled_from(["dense", "dense_f32", "dense_readonly", "list", "nan",
                                      "complex", "object"]), label="Xs form")
    Xg = make_matrix(Xs, "dense", form, rng) if form in ("nan", "complex", "object") \
        else make_matrix(Xs, form, "none", rng)
    reg = data.draw(st.sampled_from([0.5, 1.0] * 3 + [0.0, -1.0]), label="reg")
    bad = form in ("nan", "complex", "object") or not reg > 0

    def check(est):
        plan = np.asarray(est.coupling_)
        if not np.all(np.isfinite(plan)) or abs(plan.sum() - 1.0) > 1e-6:
            return "coupling_ is not a finite coupling of total mass 1"
        return None
    return Case(f"{n}x{m} d={d} Xs={form} reg={reg}",
                lambda: SinkhornTransport(reg=reg, max_iter=3000).fit(Xg, Xt), [Xg, Xt],
                "refuse" if bad else "answer", check)


def _path_target(fn_name):
    def target(data):
        import numlearn.linear_model as LM

        fn = getattr(LM, fn_name)
        P = _regression(data)
        params = _bad_param(data, {"eps": [0.0, -1.0], "n_alphas": [0, -2]})
        kw = {"n_alphas": 4, "tol": 1e-10, "max_iter": 5000, **params}

        def check(out):
            alphas, coefs, gaps = out
            if not (np.all(np.isfinite(coefs)) and coefs.shape[0] == P["D"].shape[1]):
                return "coefs not finite or of the wrong shape"
            return None
        return Case(P["desc"] + f" {params}", lambda: fn(P["X"], P["y"], **kw),
                    [P["X"], P["y"]], _expect(P, params), check)
    return target


# --------------------------------------------------------------------------------------
# tuning
# --------------------------------------------------------------------------------------
def t_tsallis_weights(data):
    from numlearn.tuning import tsallis_weights

    rng = _rng(data)
    k = data.draw(st.integers(1, 8))
    losses = np.round(rng.random(k) * 10, 3)
    vf = data.draw(vec_form(), label="losses form")
    if vf == "vec_short":  # any length is valid here
        vf = "vec"
    lv = make_vector(losses, vf)
    eta = data.draw(st.sampled_from([0.1, 1.0, 10.0, 0.0, -1.0, np.inf]), label="eta")
    # a (k, 1) column is refused here: scaled_losses must be 1-D (no length to match)
    bad = vf in BAD_VEC or vf == "vec_column" or not (0 < eta < np.inf)

    def check(w):
        w = np.asarray(w)
        if w.shape != (k,) or not np.all(np.isfinite(w)) or w.min() < 0 \
                or abs(w.sum() - 1) > 1e-9:
            return f"weights {w} are not a probability vector"
        # Tsallis-1/2 weights: w_i = 4 / (eta (L_i - x))^2 for one normalizing x
        L = vec_effective(losses, vf)
        inv = 1.0 / np.sqrt(w)
        if k > 1 and np.ptp(eta * L - 2 * inv) > 1e-6 * (1 + np.abs(eta * L).max()):
            return "weights are not of the Tsallis-INF form 4 / (eta (L_i - x))^2"
        return None
    return Case(f"k={k} losses={vf} eta={eta}", lambda: tsallis_weights(lv, eta), [lv],
                "refuse" if bad else "answer", check)


def t_sinkhorn_unbalanced(data):
    """KL-relaxed marginals: different masses are valid; a plan that says converged must
    be POT's (``ot.unbalanced.sinkhorn_unbalanced``) on well-scaled problems."""
    import ot as pot

    from numlearn.ot import sinkhorn_unbalanced

    P = _ot_problem(data)
    reg_m = data.draw(st.sampled_from([0.1, 1.0, 10.0] * 3 + [0.0, -1.0, np.nan]),
                      label="reg_m")
    mass_only = P["desc"].count("weights=mass") == 1
    bad = (P["bad"] and not (mass_only and P["reg"] > 0 and np.isfinite(P["reg"])
                             and P["form"] not in ("nan", "inf", "complex", "object"))
           or not reg_m > 0)

    def check(res):
        plan = np.asarray(res.plan, dtype=np.float64)
        if plan.shape != P["Mv"].shape or not np.all(np.isfinite(plan)) or plan.min() < 0:
            return "plan is not a finite non-negative array of M's shape"
        if 0.05 <= P["reg"] <= 1.0 and not low_precision(P["form"]):
            # POT divides 0/0 on a zero weight: its reference is taken on the support
            # (a zero-weight row or column carries no mass under the KL penalty)
            rows, cols = P["a"] > 0, P["b"] > 0
            ref = np.zeros_like(P["Mv"])
            ref[np.ix_(rows, cols)] = pot.unbalanced.sinkhorn_unbalanced(
                P["a"][rows], P["b"][cols], P["Mv"][np.ix_(rows, cols)], P["reg"], reg_m,
                stopThr=1e-14, numItermax=200000)
            if not np.allclose(plan, ref, atol=1e-6):
                return "plan differs from POT's sinkhorn_unbalanced"
        return None
    return Case(P["desc"] + f" reg_m={reg_m}",
                lambda: sinkhorn_unbalanced(P["a"], P["b"], P["M"], P["reg"], reg_m=reg_m,
                                            max_iter=20000),
                [P["M"], P["a"], P["b"]], "refuse" if bad else "answer",
                lambda res: check(res) if res.converged else None)


def t_sinkhorn_sample(data):
    """Point clouds without a cost matrix: the plan must be ``sinkhorn``'s on the
    materialized squared-Euclidean cost."""
    from numlearn.ot import sinkhorn

    from numlearn.ot import sinkhorn_sample

    rng = _rng(data)
    n, m, d = (data.draw(st.integers(1, 5)) for _ in range(3))
    Xs, Xt = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    form = data.draw(st.sampled_from(["dense", "dense_F", "dense_f32", "dense_readonly",
                                      "dense_strided", "list", "nan", "inf", "complex",
                                      "object", "dim", "empty"]), label="X_s form")
    if form in ("nan", "inf", "complex", "object"):
        Xg = make_matrix(Xs, "dense", form, rng)
    elif form == "dim":
        Xg = rng.standard_normal((n, d + 1))
    elif form == "empty":
        Xg = np.zeros((0, d))
    else:
        Xg = make_matrix(Xs, form, "none", rng)
    reg = data.draw(st.sampled_from([0.5, 1.0, 2.0] * 3 + [0.0, -1.0, np.nan]), label="reg")
    bad = form in ("nan", "inf", "complex", "object", "dim", "empty") or not reg > 0

    def check(res):
        Xe = effective(Xs, form) if form.startswith("dense") else Xs
        M = ((Xe[:, None, :] - Xt[None, :, :]) ** 2).sum(-1)
        ref = sinkhorn(None, None, M, reg, method="sinkhorn_log", tol=1e-12)
        plan = np.asarray(res.plan.toarray() if hasattr(res.plan, "toarray") else res.plan)
        tol = 1e-4 if low_precision(form) else 1e-7
        if plan.shape != (n, m) or not np.allclose(plan, ref.plan, atol=tol):
            return "plan differs from sinkhorn on the materialized cost"
        return None
    return Case(f"{n}x{m} d={d} X_s={form} reg={reg}",
                lambda: sinkhorn_sample(Xg, Xt, reg, max_iter=5000), [Xg, Xt],
                "refuse" if bad else "answer",
                lambda res: check(res) if res.converged else None)


TARGETS = {
    "cg": t_cg,
    "sor": t_sor,
    "ssor_cg": t_ssor_cg,
    "optimal_omega": t_optimal_omega,
    "lanczos_eigsh": t_lanczos_eigsh,
    "hutchinson_trace": t_hutchinson_trace,
    "sketch_and_project": t_sketch_and_project,
    "sketch_operator[apply]": t_sketch_apply,
    "OmegaTuner.solve": t_omega_tuner,
    "coordinate_descent": t_coordinate_descent,
    "Lasso.fit": t_lasso,
    "ElasticNet.fit": t_elasticnet,
    "LogisticRegression.fit": t_logistic_regression,
    "altmin": t_altmin,
    "AltMinCompletion.fit_transform": t_altmin_completion,
    "implicit_als": t_implicit_als,
    "predict_entries": t_predict_entries,
    "sinkhorn[sinkhorn_log]": _sinkhorn_target("sinkhorn_log"),
    "sinkhorn[sinkhorn]": _sinkhorn_target("sinkhorn"),
    "sinkhorn[sns]": _sinkhorn_target("sns"),
    "sinkhorn[auto]": _sinkhorn_target("auto"),
    "sinkhorn_unbalanced": t_sinkhorn_unbalanced,
    "sinkhorn_sample": t_sinkhorn_sample,
    "sinkhorn_newton_sparse": t_sinkhorn_newton_sparse,
    "SinkhornTransport.fit": t_sinkhorn_transport,
    "lasso_path": _path_target("lasso_path"),
    "enet_path": _path_target("enet_path"),
    "tsallis_weights": t_tsallis_weights,
}

from _specs import build_specs  # noqa: E402  (the table-driven targets)

TARGETS.update(build_specs())
