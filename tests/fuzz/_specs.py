"""Table-driven fuzz targets for the public names without a hand-written target.

A :class:`Spec` gives a small valid call (``make(rng)`` draws its arguments), a check of
its answer against a closed form or a dense reference, the argument names holding arrays
(handed over in other valid forms — list, read-only, Fortran order, strided — or
corrupted: NaN, inf, complex, object, a wrong number of dimensions) and out-of-range
values for other arguments. :func:`spec_target` turns it into a target of
``_targets.TARGETS``: a case is the valid call (answer expected, checked), the valid call
with an array in another form (the same answer), or one argument spoiled (a
``ValueError``/``TypeError`` expected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from _cases import spd

ARRAY_CORRUPTIONS = ("nan", "inf", "complex", "object", "ndim")
ARRAY_FORMS = ("list", "readonly", "fortran", "strided")


@dataclass
class Spec:
    make: Callable[[np.random.Generator], dict]
    call: Callable[[dict], Any]
    check: Callable[[dict, Any], str | None]
    arrays: tuple = ()
    bad: dict = field(default_factory=dict)
    corruptions: tuple = ARRAY_CORRUPTIONS


def _corrupt(a, kind):
    a = np.array(a, dtype=np.float64)
    if kind in ("nan", "inf"):
        a = a.copy()
        a.flat[0] = np.nan if kind == "nan" else np.inf
        return a
    if kind == "complex":
        return a + 1j
    if kind == "object":
        return a.astype(object)
    if kind == "ndim":
        return a.reshape(a.shape + (1, 1))
    raise AssertionError(kind)


def _form(a, kind):
    a = np.asarray(a)
    if kind == "list":
        return a.tolist()
    if kind == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "strided":
        big = np.zeros((2 * a.shape[0],) + a.shape[1:], dtype=a.dtype)
        big[::2] = a
        return big[::2]
    raise AssertionError(kind)


def spec_target(factory: Callable[[], Spec]):
    """A target of ``_targets.TARGETS`` from a spec, built (its imports done) on first use
    in the worker process."""
    cache = []

    def target(data):
        from _targets import Case, _rng

        if not cache:
            cache.append(factory())
        spec = cache[0]
        rng = _rng(data)
        kw = spec.make(rng)
        modes = ["valid"] * 3
        if spec.arrays:
            modes += ["form"] * 2 + (["corrupt"] * 2 if spec.corruptions else [])
        if any("/" not in k or k.split("/")[0] == kw.get("name") for k in spec.bad):
            modes += ["bad"] * 3
        mode = data.draw(st.sampled_from(modes), label="mode")
        kw2, desc, expect = dict(kw), "valid", "answer"
        if mode == "form":
            key = data.draw(st.sampled_from(spec.arrays), label="array")
            kind = data.draw(st.sampled_from(ARRAY_FORMS), label="form")
            kw2[key] = _form(kw[key], kind)
            desc = f"{key}={kind}"
        elif mode == "corrupt":
            key = data.draw(st.sampled_from(spec.arrays), label="array")
            kind = data.draw(st.sampled_from(spec.corruptions), label="corruption")
            kw2[key] = _corrupt(kw[key], kind)
            desc, expect = f"{key}={kind}", "refuse"
        elif mode == "bad":
            # "fn/param": a parameter of one of the functions a spec draws (kw["name"])
            keys = sorted(k for k in spec.bad if "/" not in k
                          or k.split("/")[0] == kw.get("name"))
            key = data.draw(st.sampled_from(keys), label="param")
            value = data.draw(st.sampled_from(spec.bad[key]), label="value")
            kw2[key.split("/")[-1]] = value
            desc, expect = f"{key}={value!r}", "refuse"
        inputs = [v for v in kw2.values() if isinstance(v, (np.ndarray, list))
                  or sp.issparse(v)]
        return Case(desc, lambda: spec.call(kw2), inputs, expect,
                    lambda res: spec.check(kw, res))
    return target


def _close(got, want, rtol=1e-8, atol=1e-10, what="result"):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        return f"{what} {got} != {want}"
    return None


SIZES_BAD = [0, -1, 2.5, "3", np.nan, None]
POS_BAD = [0.0, -1.0, np.nan, np.inf, "1"]
PROB_BAD = [-0.1, 1.5, np.nan]
RS_BAD = ["seed", 1.5]


# --------------------------------------------------------------------------------------
# linalg
# --------------------------------------------------------------------------------------
def _spectral_density():
    from numlearn.linalg import spectral_density

    def make(rng):
        n = int(rng.integers(2, 7))
        return dict(A=spd(n, rng), n_vectors=4, n_steps=n, sigma=0.05, n_grid=400,
                    random_state=0)

    def check(kw, res):
        lam = np.linalg.eigvalsh(kw["A"])
        grid, dens = np.asarray(res.grid), np.asarray(res.density)
        dx = grid[1] - grid[0]
        if not np.all(np.isfinite(dens)) or dens.min() < -1e-12:
            return "density not finite and non-negative"
        if abs(dens.sum() * dx - 1.0) > 2e-2:
            return f"mass {dens.sum() * dx} != 1"
        inside = (grid >= lam[0] - 6 * kw["sigma"]) & (grid <= lam[-1] + 6 * kw["sigma"])
        if dens[~inside].sum() * dx > 1e-3:
            return "mass outside the spectrum"
        return None
    return Spec(make, lambda kw: spectral_density(**kw), check, arrays=("A",),
                bad={"n_vectors": [0, -1, 2.5], "n_steps": [0, -2], "sigma": [-1.0, np.nan],
                     "n_grid": [0, 1, -5], "random_state": RS_BAD})


def _sketch_operator_class():
    from numlearn.linalg import SketchOperator

    def make(rng):
        n = int(rng.integers(2, 9))
        return dict(kind=str(rng.choice(["gaussian", "countsketch", "sparse_sign"])),
                    n_rows=int(rng.integers(1, n + 1)), n_cols=n, random_state=0)

    def check(kw, S):
        D = np.asarray(S.toarray())
        if D.shape != (kw["n_rows"], kw["n_cols"]) or not np.all(np.isfinite(D)):
            return f"S has shape {D.shape}"
        X = np.arange(kw["n_cols"] * 2.0).reshape(kw["n_cols"], 2)
        return _close(S @ X, D @ X, what="S @ X")
    return Spec(make, lambda kw: SketchOperator(**kw), check,
                bad={"kind": ["gauss", 3], "n_rows": SIZES_BAD, "n_cols": [0, -1, 1.5],
                     "random_state": RS_BAD})


# --------------------------------------------------------------------------------------
# tuning
# --------------------------------------------------------------------------------------
def _bandit_run(kw, make_learner, contextual):
    learner = make_learner({k: v for k, v in kw.items() if k != "costs"})
    rng = np.random.default_rng(0)
    for t in range(30):
        c = float(rng.uniform(0.1, 0.9))
        arm = learner.select(c) if contextual else learner.select()
        learner.update(float(kw["costs"][arm]) * (1.0 + c))
    return learner


def _probability_check(kw, learner):
    p = np.asarray(getattr(learner, "probabilities_", None))
    if p.shape != (kw["n_arms"],) or not np.all(np.isfinite(p)) or p.min() < 0 \
            or abs(p.sum() - 1.0) > 1e-9:
        return f"probabilities_ {p} are not a probability vector over the arms"
    return None


def _tsallis():
    from numlearn.tuning import TsallisINF

    def make(rng):
        k = int(rng.integers(1, 5))
        return dict(n_arms=k, costs=rng.random(k) + 0.1, random_state=0)
    return Spec(make, lambda kw: _bandit_run(kw, lambda o: TsallisINF(**o), False),
                _probability_check,
                bad={"n_arms": SIZES_BAD, "learning_rate": POS_BAD, "loss_floor": [np.nan],
                     "estimator": ["best"], "smoothing_radius": [-1.0, np.nan],
                     "costs": [np.array([np.nan] * 5), np.array([-1.0] * 5)],
                     "random_state": RS_BAD})


def _contextual(cls_name):
    import numlearn.tuning as T

    cls = getattr(T, cls_name)

    def make(rng):
        k = int(rng.integers(1, 4))
        return dict(n_arms=k, context_range=(0.0, 1.0), costs=rng.random(k) + 0.1,
                    random_state=0)

    def check(kw, learner):
        pred = np.asarray(learner.predict(0.5))
        if pred.shape != (kw["n_arms"],) or not np.all(np.isfinite(pred)):
            return f"predict(0.5) = {pred} is not one finite cost per arm"
        return None
    bad = {"n_arms": SIZES_BAD, "context_range": [(1.0, 0.0), (0.0, np.nan), (0.0,), "ab"],
           "costs": [np.array([np.nan] * 4), np.array([np.inf] * 4)],
           "random_state": RS_BAD}
    if cls_name == "ChebCB":
        bad.update(degree=[-1, 2.5], ridge=[-1.0, np.nan], exploration=[-1.0, np.nan])
    else:
        bad.update(bandwidth=[0.0, -1.0, np.nan], arm_radius=[-1.0, np.nan])
    return Spec(make, lambda kw: _bandit_run(kw, lambda o: cls(**o), True), check, bad=bad)


def _systems(rng, k=3, n=5):
    from numlearn.datasets import LinearSystem

    return [LinearSystem(sp.csr_matrix(spd(n, rng)), rng.standard_normal(n), float(i))
            for i in range(k)]


def _parameter_tuner():
    from numlearn.linalg import sor
    from numlearn.tuning import ParameterTuner

    def make(rng):
        return dict(solver=sor, parameter="omega", values=[1.0, 1.2, 1.5],
                    systems=_systems(rng), random_state=0)

    def call(kw):
        systems = kw["systems"]
        tuner = ParameterTuner(**{k: v for k, v in kw.items() if k != "systems"},
                               rtol=1e-8)
        return systems, [tuner.solve(s.A, s.b) for s in systems]

    def check(kw, out):
        systems, results = out
        for s, r in zip(systems, results):
            res = np.linalg.norm(s.A @ r.x - s.b)
            if r.converged and res > 1.01e-8 * np.linalg.norm(s.b) + 1e-14:
                return f"residual {res:.3g} of a converged solve"
        return None
    return Spec(make, call, check,
                bad={"parameter": [3, None], "values": [[], [np.nan, 1.0], "abc"],
                     "learner": ["best-arm", 3], "solver": [None, "sor"],
                     "random_state": RS_BAD})


def _parameter_baselines():
    from numlearn.linalg import sor
    from numlearn.tuning import parameter_baselines

    def make(rng):
        return dict(systems=_systems(rng), solver=sor, parameter="omega",
                    values=[1.0, 1.3])

    def check(kw, base):
        costs = np.asarray(base.costs)
        if costs.shape != (3, 2) or not np.all(np.isfinite(costs)):
            return f"costs of shape {costs.shape}"
        # the cost is the iteration count of each solve: recompute one
        r = sor(kw["systems"][0].A, kw["systems"][0].b, omega=1.3)
        if costs[0, 1] != r.n_iter:
            return f"cost {costs[0, 1]} != sor's n_iter {r.n_iter}"
        return None
    return Spec(make, lambda kw: parameter_baselines(**kw), check,
                bad={"values": [[], [np.nan]], "parameter": [3], "solver": [None],
                     "systems": [[], [3.0]]})


def _omega_baselines():
    from numlearn.tuning import omega_baselines

    def make(rng):
        return dict(systems=_systems(rng), omegas=np.array([1.0, 1.4]))

    def check(kw, base):
        costs = np.asarray(base.costs)
        if costs.shape != (3, 2) or not np.all(np.isfinite(costs)):
            return f"costs of shape {costs.shape}"
        if not base.instance_optimal_total <= base.best_fixed_total:
            return "instance-optimal total above the best fixed total"
        return None
    return Spec(make, lambda kw: omega_baselines(**kw), check, arrays=("omegas",),
                bad={"omegas": [np.array([0.0]), np.array([2.5]), np.array([]), "1.0"],
                     "systems": [[], [3.0]], "solver": ["gauss"]},
                corruptions=("nan", "complex", "ndim"))


def _default_omegas():
    from numlearn.tuning import default_omegas

    def check(kw, w):
        w = np.asarray(w)
        if w.ndim != 1 or not (np.all(w > 0) and np.all(w < 2) and np.all(np.diff(w) > 0)):
            return f"{w} is not an increasing grid in (0, 2)"
        return None
    return Spec(lambda rng: {}, lambda kw: default_omegas(), check)


# --------------------------------------------------------------------------------------
# optimize: min ½|x - c|² subject to a·x = β (closed form), and bounds (a clip)
# --------------------------------------------------------------------------------------
def _eq_problem(rng):
    n = int(rng.integers(2, 6))
    c, a = rng.standard_normal(n), rng.standard_normal(n) + 0.5
    beta = float(rng.standard_normal())
    return dict(c=c, a=a, beta=beta, x0=np.zeros(n))


def _eq_solution(kw):
    c, a = kw["c"], kw["a"]
    return c - a * (a @ c - kw["beta"]) / (a @ a)


def _minimize_eq():
    from numlearn.optimize import minimize_eq

    def call(kw):
        c, a, beta = kw["c"], kw["a"], kw["beta"]
        cons = {"type": "eq", "fun": lambda x: np.array([a @ x - beta]),
                "jac": lambda x: a[None, :], "hess": lambda x, v: np.zeros((a.size,) * 2)}
        opts = {k: kw[k] for k in ("tol", "maxiter", "sketch") if k in kw}
        return minimize_eq(lambda x: 0.5 * (x - c) @ (x - c), kw["x0"],
                           jac=lambda x: x - c, hess=lambda x: np.eye(c.size),
                           constraints=cons, random_state=0, **opts)

    def check(kw, res):
        if res.success:
            return _close(res.x, _eq_solution(kw), rtol=1e-6, atol=1e-7, what="x")
        return None
    return Spec(_eq_problem, call, check, arrays=("x0",),
                bad={"sketch": ["gauss", 3], "tol": [-1.0, np.nan], "maxiter": [-1, 2.5]})


def _minimize_constrained():
    from numlearn.optimize import minimize_constrained

    def make(rng):
        kw = _eq_problem(rng)
        kw["box"] = bool(rng.integers(2))
        return kw

    def call(kw):
        c, a, beta = kw["c"], kw["a"], kw["beta"]
        opts = {k: kw[k] for k in ("tol",) if k in kw}
        box = [(-0.5, 0.5)] * c.size if kw["box"] else None
        eq = () if kw["box"] else {"type": "eq", "fun": lambda x: np.array([a @ x - beta]),
                                   "jac": lambda x: a[None, :]}
        return minimize_constrained(lambda x: 0.5 * (x - c) @ (x - c), kw["x0"],
                                    jac=lambda x: x - c, hess=lambda x: np.eye(c.size),
                                    bounds=kw.get("bounds", box),
                                    constraints=kw.get("constraints", eq), **opts)

    def check(kw, res):
        if not res.success:
            return None
        want = np.clip(kw["c"], -0.5, 0.5) if kw["box"] else _eq_solution(kw)
        return _close(res.x, want, rtol=1e-5, atol=1e-6, what="x")
    return Spec(make, call, check, arrays=("x0",),
                bad={"tol": [-1.0, np.nan], "constraints": [{"type": "eqq"}, 3],
                     "bounds": [[(1.0, -1.0)] * 2, "box"]})


# --------------------------------------------------------------------------------------
# linear_model: datafits and penalties through coordinate_descent
# --------------------------------------------------------------------------------------
def _penalties():
    import numlearn.linear_model as LM
    from sklearn.linear_model import ElasticNet as SkEnet

    def make(rng):
        X = np.round(rng.standard_normal((12, 3)), 3)
        return dict(X=X, y=X @ rng.standard_normal(3) + 0.1 * rng.standard_normal(12),
                    name=str(rng.choice(["L1", "L2", "ElasticNetPenalty", "NoPenalty"])),
                    alpha=0.1, l1_ratio=0.5)

    def build(kw):
        name = kw["name"]
        if name == "NoPenalty":
            return LM.NoPenalty()
        if name == "ElasticNetPenalty":
            return LM.ElasticNetPenalty(kw["alpha"], kw["l1_ratio"])
        return getattr(LM, name)(kw["alpha"])

    def call(kw):
        return LM.coordinate_descent(kw["X"], kw["y"], LM.Quadratic(), build(kw), tol=1e-12,
                                     max_iter=20000)

    def check(kw, res):
        X, y, a = kw["X"], kw["y"], kw["alpha"]
        ratio = {"L1": 1.0, "L2": 0.0, "ElasticNetPenalty": kw["l1_ratio"]}.get(kw["name"])
        if ratio is None:
            want = np.linalg.lstsq(X, y, rcond=None)[0]
        elif ratio == 0.0:  # ½|y - Xw|²/n + (α/2)|w|²
            n = X.shape[0]
            want = np.linalg.solve(X.T @ X / n + a * np.eye(X.shape[1]), X.T @ y / n)
        else:
            want = SkEnet(alpha=a, l1_ratio=ratio, fit_intercept=False, tol=1e-14,
                          max_iter=100000).fit(X, y).coef_
        return _close(res.coef, want, rtol=1e-5, atol=1e-6, what="coef")
    return Spec(make, call, check,
                bad={"L1/alpha": [-1.0, np.nan, np.inf, "a"], "L2/alpha": [-1.0, np.nan],
                     "ElasticNetPenalty/alpha": [-1.0, np.nan],
                     "ElasticNetPenalty/l1_ratio": [-0.5, 1.5, np.nan]})


def _datafits():
    import numlearn.linear_model as LM

    def make(rng):
        n = int(rng.integers(2, 8))
        return dict(name=str(rng.choice(["Quadratic", "Logistic"])),
                    y=np.where(rng.random(n) < 0.5, -1.0, 1.0), Xw=rng.standard_normal(n))

    def check(kw, value):
        y, Xw = kw["y"], kw["Xw"]
        want = 0.5 * np.mean((y - Xw) ** 2) if kw["name"] == "Quadratic" \
            else np.mean(np.logaddexp(0.0, -y * Xw))
        return _close(value, want, rtol=1e-10, what="value")
    # a datafit's methods are the solver's inner primitives, handed arrays that
    # coordinate_descent validated (fuzzed there): their values are checked, not fuzzed
    return Spec(make, lambda kw: getattr(LM, kw["name"])().value(kw["y"], kw["Xw"]), check)


def _multinomial():
    import numlearn.linear_model as LM

    def make(rng):
        X = np.round(rng.standard_normal((12, 2)), 3)
        y = np.arange(12) % 3
        return dict(X=X, y=y.astype(float), alpha=0.5)

    def call(kw):
        return LM.coordinate_descent(kw["X"], kw["y"], LM.Multinomial(), LM.L2(kw["alpha"]),
                                     tol=1e-12, max_iter=20000)

    def check(kw, res):
        from sklearn.linear_model import LogisticRegression as SkLR

        n = kw["X"].shape[0]
        # (1/n) Σ log-loss + (α/2)|W|²  ==  sklearn's C = 1 / (n α), no intercept
        sk = SkLR(C=1.0 / (n * kw["alpha"]), fit_intercept=False, tol=1e-12,
                  max_iter=10000).fit(kw["X"], kw["y"])
        coef = np.asarray(res.coef)
        coef = coef.T if coef.shape == sk.coef_.T.shape else coef
        probs = np.exp(kw["X"] @ coef.T)
        probs /= probs.sum(1, keepdims=True)
        return _close(probs, sk.predict_proba(kw["X"]), rtol=1e-4, atol=1e-5,
                      what="class probabilities")
    return Spec(make, call, check, arrays=("X",), bad={"alpha": [-1.0, np.nan]})


# --------------------------------------------------------------------------------------
# linear_model: multi-task, cross-validated and working-set (solve_glm) estimators
# --------------------------------------------------------------------------------------
#: scikit-learn's convention for estimators: an object array of numbers is accepted
EST_CORRUPTIONS = ("nan", "inf", "complex", "ndim")


def _multitask(name):
    import sklearn.linear_model as SK

    import numlearn.linear_model as LM

    def make(rng):
        X = np.round(rng.standard_normal((15, 4)), 3)
        Y = X @ rng.standard_normal((4, 2)) + 0.1 * rng.standard_normal((15, 2))
        return dict(X=X, y=Y, alpha=float(rng.choice([0.05, 0.3])), l1_ratio=0.5)

    def params(kw):
        p = dict(alpha=kw["alpha"])
        if name == "MultiTaskElasticNet":
            p["l1_ratio"] = kw["l1_ratio"]
        return p

    def call(kw):
        return getattr(LM, name)(**params(kw), tol=1e-10, max_iter=50000).fit(kw["X"], kw["y"])

    def check(kw, est):
        sk = getattr(SK, name)(**params(kw), tol=1e-12, max_iter=100000).fit(kw["X"], kw["y"])
        return (_close(est.coef_, sk.coef_, rtol=1e-5, atol=1e-6, what="coef_")
                or _close(est.intercept_, sk.intercept_, rtol=1e-5, atol=1e-6,
                          what="intercept_"))
    bad = {"alpha": [-1.0, np.nan, np.inf, "a"]}
    if name == "MultiTaskElasticNet":
        bad["l1_ratio"] = [-0.5, 1.5, np.nan]
    return Spec(make, call, check, arrays=("X", "y"), bad=bad, corruptions=EST_CORRUPTIONS)


def _linear_cv(name):
    import sklearn.linear_model as SK

    import numlearn.linear_model as LM

    def make(rng):
        X = np.round(rng.standard_normal((18, 4)), 3)
        y = X @ rng.standard_normal(4) + 0.3 * rng.standard_normal(18)
        return dict(X=X, y=y, alphas=[0.5, 0.1, 0.02], cv=3, l1_ratio=0.5)

    def params(kw):
        p = dict(alphas=kw["alphas"], cv=kw["cv"])
        if name == "ElasticNetCV":
            p["l1_ratio"] = kw["l1_ratio"]
        return p

    def call(kw):
        return getattr(LM, name)(**params(kw), tol=1e-10, max_iter=50000).fit(kw["X"], kw["y"])

    def check(kw, est):
        sk = getattr(SK, name)(**params(kw), tol=1e-12, max_iter=100000).fit(kw["X"], kw["y"])
        if not math.isclose(est.alpha_, sk.alpha_, rel_tol=1e-12):
            return f"alpha_ {est.alpha_} != {sk.alpha_}"
        return (_close(est.mse_path_, sk.mse_path_, rtol=1e-4, atol=1e-8, what="mse_path_")
                or _close(est.coef_, sk.coef_, rtol=1e-5, atol=1e-6, what="coef_"))
    bad = {"cv": [1, 0, -2, 2.5, "3"], "alphas": [[-0.1, 0.2], [np.nan], [], "a"]}
    if name == "ElasticNetCV":
        bad["l1_ratio"] = [-0.5, 1.5, np.nan]
    return Spec(make, call, check, arrays=("X", "y"), bad=bad, corruptions=EST_CORRUPTIONS)


def _logistic_cv():
    from sklearn.linear_model import LogisticRegressionCV as SkLRCV

    import numlearn.linear_model as LM

    def make(rng):
        X = np.round(rng.standard_normal((24, 3)), 3)
        y = (X @ rng.standard_normal(3) + 0.7 * rng.standard_normal(24) > 0).astype(float)
        y[:2] = [0.0, 1.0]  # both classes
        return dict(X=X, y=y, Cs=[0.1, 1.0, 10.0], cv=3)

    def call(kw):
        return LM.LogisticRegressionCV(Cs=kw["Cs"], cv=kw["cv"], scoring="neg_log_loss",
                                       tol=1e-10, max_iter=10000).fit(kw["X"], kw["y"])

    def check(kw, est):
        sk = SkLRCV(Cs=kw["Cs"], cv=kw["cv"], scoring="neg_log_loss", tol=1e-12,
                    max_iter=10000).fit(kw["X"], kw["y"])
        if not np.allclose(est.C_, sk.C_, rtol=1e-12):
            return f"C_ {est.C_} != {sk.C_}"
        return _close(est.predict_proba(kw["X"]), sk.predict_proba(kw["X"]), rtol=1e-4,
                      atol=1e-5, what="predict_proba")
    return Spec(make, call, check, arrays=("X", "y"),
                bad={"cv": [1, 0, 2.5, "3"], "Cs": [[-1.0, 1.0], [np.nan], [], 0, "a"]},
                corruptions=EST_CORRUPTIONS)


def _glm_stationarity(name, kw, w, g, tol=1e-6):
    """Largest violation of the first-order conditions ``0 ∈ g + ∂P(w)`` at ``w``, written
    from the penalties' definitions (independent of the solver's own criterion)."""
    a, gam = kw["alpha"], kw["gamma"]
    if name == "GroupLasso":
        viol = 0.0
        for grp in kw["groups"]:
            wg, gg = w[grp], g[grp]
            nw = np.linalg.norm(wg)
            viol = max(viol, max(np.linalg.norm(gg) - a, 0.0) if nw == 0
                       else np.linalg.norm(gg + a * wg / nw))
        return viol
    viol = np.zeros_like(w)
    for j, (wj, gj) in enumerate(zip(w, g)):
        aj = a * kw["weights"][j] if name == "WeightedL1" else a
        s, t = np.sign(wj), abs(wj)
        if wj == 0:
            viol[j] = max(abs(gj) - aj, 0.0)
        elif name == "WeightedL1" or (name == "SCAD" and t <= a):
            viol[j] = abs(gj + aj * s)
        elif name == "MCP":
            viol[j] = abs(gj + (a * s - wj / gam if t <= gam * a else 0.0))
        else:  # SCAD beyond alpha
            viol[j] = abs(gj + ((gam * a * s - wj) / (gam - 1) if t <= gam * a else 0.0))
    return float(viol.max())


def _solve_glm():
    from sklearn.linear_model import Lasso as SkLasso

    import numlearn.linear_model as LM

    def make(rng):
        X = np.round(rng.standard_normal((20, 4)), 3)
        y = X @ np.array([2.0, 0.0, -1.5, 0.3]) + 0.2 * rng.standard_normal(20)
        name = str(rng.choice(["WeightedL1", "MCP", "SCAD", "GroupLasso"]))
        unit = name == "WeightedL1" and rng.random() < 0.5
        return dict(X=X, y=y, name=name, alpha=float(rng.choice([0.05, 0.2])),
                    gamma={"MCP": 3.0, "SCAD": 3.7}.get(name, 0.0),
                    weights=np.ones(4) if unit else np.round(rng.uniform(0, 2, 4), 2),
                    groups=[[0, 1], [2, 3]], tol=1e-10)

    def build(kw):
        name = kw["name"]
        if name == "WeightedL1":
            return LM.WeightedL1(kw["alpha"], kw["weights"])
        if name == "GroupLasso":
            return LM.GroupLasso(kw["alpha"], kw["groups"])
        return getattr(LM, name)(kw["alpha"], kw["gamma"])

    def call(kw):
        return LM.solve_glm(kw["X"], kw["y"], LM.Quadratic(), build(kw), tol=kw["tol"],
                            max_iter=200, p0=4)

    def check(kw, res):
        X, y, w = kw["X"], kw["y"], np.asarray(res.coef)
        if w.shape != (X.shape[1],):
            return f"coef shape {w.shape}"
        g = X.T @ (X @ w - y) / X.shape[0]
        viol = _glm_stationarity(kw["name"], kw, w, g)
        if not viol <= 1e-6:
            return f"first-order violation {viol:.3g} > 1e-6"
        if kw["name"] == "WeightedL1" and np.all(kw["weights"] == 1.0):
            sk = SkLasso(alpha=kw["alpha"], fit_intercept=False, tol=1e-14,
                         max_iter=100000).fit(X, y)
            return _close(w, sk.coef_, rtol=1e-5, atol=1e-6, what="coef vs sklearn Lasso")
        return None
    return Spec(make, call, check, arrays=("X", "y"),
                bad={"alpha": [-1.0, np.nan, np.inf, "a"], "tol": [-1.0, np.nan],
                     "WeightedL1/weights": [np.ones(3), -np.ones(4), np.full(4, np.nan),
                                            "w"],
                     "MCP/gamma": [1.0, 0.5, np.nan], "SCAD/gamma": [2.0, 1.5, np.nan],
                     "GroupLasso/groups": [0, 3, [[0, 1]], [[0, 1], [1, 2, 3]], [[]],
                                           "g"]})


def _glm_estimator():
    from scipy.special import expit
    from sklearn.linear_model import Lasso as SkLasso

    import numlearn.linear_model as LM

    def make(rng):
        X = np.round(rng.standard_normal((20, 4)), 3)
        z = X @ rng.standard_normal(4) + 0.5 * rng.standard_normal(20)
        name = str(rng.choice(["Quadratic", "Logistic"]))
        y = z if name == "Quadratic" else (z > 0).astype(float)
        if name == "Logistic":
            y[:2] = [0.0, 1.0]
        return dict(X=X, y=y, name=name, alpha=float(rng.choice([0.02, 0.1])))

    def call(kw):
        return LM.GeneralizedLinearEstimator(getattr(LM, kw["name"])(), LM.L1(kw["alpha"]),
                                             tol=1e-10, max_iter=200).fit(kw["X"], kw["y"])

    def check(kw, est):
        X, y, a = kw["X"], kw["y"], kw["alpha"]
        if kw["name"] == "Quadratic":
            sk = SkLasso(alpha=a, tol=1e-14, max_iter=100000).fit(X, y)
            return (_close(est.coef_, sk.coef_, rtol=1e-5, atol=1e-6, what="coef_")
                    or _close(est.intercept_, sk.intercept_, rtol=1e-5, atol=1e-6,
                              what="intercept_"))
        s = np.where(y == est.classes_[1], 1.0, -1.0)
        z = X @ est.coef_ + est.intercept_
        r = -s * expit(-s * z) / X.shape[0]
        if abs(r.sum()) > 1e-6:
            return f"intercept derivative {r.sum():.3g}"
        kwp = dict(alpha=a, gamma=0.0, weights=np.ones(4))
        viol = _glm_stationarity("WeightedL1", kwp, est.coef_, X.T @ r)
        return None if viol <= 1e-6 else f"first-order violation {viol:.3g} > 1e-6"
    return Spec(make, call, check, arrays=("X", "y"),
                bad={"alpha": [-1.0, np.nan]}, corruptions=EST_CORRUPTIONS)


# --------------------------------------------------------------------------------------
# ot
# --------------------------------------------------------------------------------------
def _sinkhorn_divergence():
    from numlearn.ot import sinkhorn_divergence

    # compile (or load from cache) its kernels before the timed calls
    sinkhorn_divergence(np.zeros((2, 1)), np.ones((1, 1)), 1.0)

    def make(rng):
        # self-transport terms at a small reg converge slowly (POT's log-domain Sinkhorn
        # needs ~7500 iterations on 4 points, reg=0.5): max_iter bounds the time, and
        # a run that stops there must say so (converged=False and one warning)
        n, m, d = (int(v) for v in rng.integers(1, 5, 3))
        return dict(X_s=rng.standard_normal((n, d)), X_t=rng.standard_normal((m, d)),
                    reg=float(rng.choice([0.5, 1.0, 2.0])), max_iter=500)

    def check(kw, res):
        if not res.converged:
            return None
        val = float(res.divergence)
        if not np.isfinite(val) or val < -1e-8:
            return f"divergence {val} is not finite and non-negative"
        # S(α, β) = OT(α, β) - ½ OT(α, α) - ½ OT(β, β), clamped at 0: its parts
        want = max(0.0, res.cost_st - 0.5 * (res.cost_ss + res.cost_tt))
        if abs(val - want) > 1e-12 * (1 + abs(want)):
            return f"divergence {val} != its parts' {want}"
        swap = sinkhorn_divergence(kw["X_t"], kw["X_s"], kw["reg"], max_iter=500)
        if swap.converged and abs(swap.divergence - val) > 1e-6 * (1 + abs(val)):
            return f"not symmetric: {val} vs {swap.divergence}"
        return None
    return Spec(make, lambda kw: sinkhorn_divergence(**kw), check, arrays=("X_s", "X_t"),
                bad={"reg": POS_BAD, "metric": ["manhattan", 3], "tol": [-1.0],
                     "max_iter": [-1, 0.5], "a": [np.array([np.nan]), np.array([-1.0])]})


# --------------------------------------------------------------------------------------
# completion
# --------------------------------------------------------------------------------------
def _make_ratings():
    from numlearn.completion import make_ratings

    def make(rng):
        return dict(n_users=int(rng.integers(2, 8)), n_items=int(rng.integers(2, 8)),
                    n_ratings=int(rng.integers(1, 4)), rank=2, random_state=0)

    def check(kw, out):
        users, items, ratings = (np.asarray(o) for o in out)
        k = kw["n_ratings"]
        if not (users.shape == items.shape == ratings.shape == (k,)):
            return "not three arrays of length n_ratings"
        if users.min() < 0 or users.max() >= kw["n_users"] or items.min() < 0 \
                or items.max() >= kw["n_items"]:
            return "user or item index out of range"
        if len(set(zip(users.tolist(), items.tolist()))) != k:
            return "a (user, item) pair rated twice"
        if not set(ratings.tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}:
            return f"ratings {ratings} outside 1..5"
        return None
    return Spec(make, lambda kw: make_ratings(**kw), check,
                bad={"n_users": SIZES_BAD, "n_items": [0, -3, 1.5], "n_ratings": [-1, 10**6,
                                                                                  2.5],
                     "rank": [0, -1], "noise": [-1.0, np.nan], "random_state": RS_BAD})


def _implicit_loss():
    from numlearn.completion import implicit_loss

    def make(rng):
        m, n, r = 3, 4, 2
        R = np.where(rng.random((m, n)) < 0.5, np.round(rng.random((m, n)) * 3, 3), 0.0)
        return dict(R_obs=sp.csr_matrix(R), X=rng.standard_normal((m, r)),
                    Y=rng.standard_normal((n, r)), reg=0.1, alpha=2.0)

    def check(kw, value):
        R = kw["R_obs"].toarray()
        P, C = (R > 0).astype(float), 1.0 + kw["alpha"] * R
        S = kw["X"] @ kw["Y"].T
        want = np.sum(C * (P - S) ** 2) + kw["reg"] * (np.sum(kw["X"] ** 2)
                                                        + np.sum(kw["Y"] ** 2))
        return _close(value, want, rtol=1e-10, what="loss")
    return Spec(make, lambda kw: implicit_loss(**kw), check, arrays=("X", "Y"),
                bad={"reg": [-1.0, np.nan], "alpha": [0.0, -1.0, np.nan],
                     "X": [np.ones((2, 2))], "Y": [np.ones((4, 3))],
                     "R_obs": [sp.csr_matrix(-np.ones((3, 4))), np.ones(3)]})


def _implicit_estimator():
    from numlearn.completion import ImplicitALS, implicit_als

    def make(rng):
        R = np.where(rng.random((4, 5)) < 0.6, np.round(rng.random((4, 5)) * 3, 3) + 0.1, 0)
        R[np.arange(4), np.arange(4)] = 1.0
        R[0, 4] = 1.0
        return dict(X=sp.csr_matrix(R), rank=1, reg=0.1, alpha=2.0, max_iter=4,
                    solver="cholesky", random_state=0)

    def call(kw):
        est = ImplicitALS(**{k: v for k, v in kw.items() if k != "X"})
        return est.fit(kw["X"])

    def check(kw, est):
        ref = implicit_als(kw["X"], 1, reg=0.1, alpha=2.0, max_iter=4, solver="cholesky",
                           random_state=0)
        return _close(est.user_factors_ @ est.item_factors_.T, ref.U @ ref.V.T,
                      what="user_factors_ item_factors_ᵀ")
    return Spec(make, call, check,
                bad={"rank": [0, -1, 2.5], "reg": [-1.0, np.nan], "alpha": [0.0, -2.0],
                     "max_iter": [-1, 1.5], "solver": ["lu"], "X": [np.ones(3), "abc"]})


# --------------------------------------------------------------------------------------
# dynamics: models (finite-difference checks of grad and hvp), optimizers, tools
# --------------------------------------------------------------------------------------
def _fd_check(model, rng):
    w = rng.standard_normal(model.n_params) * 0.5
    v = rng.standard_normal(model.n_params)
    h = 1e-6
    fd_g = (model.loss(w + h * v) - model.loss(w - h * v)) / (2 * h)
    g = float(np.asarray(model.grad(w)) @ v)
    if not math.isclose(g, fd_g, rel_tol=1e-4, abs_tol=1e-6):
        return f"grad·v {g} != finite difference {fd_g}"
    fd_h = (np.asarray(model.grad(w + h * v)) - np.asarray(model.grad(w - h * v))) / (2 * h)
    hv = np.asarray(model.hvp(w, v))
    if not np.allclose(hv, fd_h, rtol=1e-3, atol=1e-5):
        return "hvp differs from the finite difference of grad"
    return None


def _model_spec(name):
    import numlearn.dynamics as D

    cls = getattr(D, name)

    def make(rng):
        n, d = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        X = rng.standard_normal((n, d))
        if name == "LogisticRegression":
            return dict(X=X, y=np.where(rng.random(n) < 0.5, -1.0, 1.0))
        if name == "SoftmaxRegression":
            return dict(X=X, y=np.arange(n) % 3, n_classes=3)
        if name == "QuadraticModel":
            p = d + 1
            H = rng.standard_normal((n, p, p))
            return dict(J=rng.standard_normal((n, p)), H=H + H.transpose(0, 2, 1))
        if name == "SecondOrderRegression":
            p = d + 1
            Q = rng.standard_normal((n, p, p))
            return dict(J=rng.standard_normal((n, p)), Q=Q + Q.transpose(0, 2, 1),
                        y=rng.standard_normal(n))
        if name == "MatrixSensing":
            B = rng.standard_normal((3, 1))
            return dict(M=B @ B.T, rank=1)
        kw = dict(X=X, y=rng.standard_normal(n))
        if name in ("UVModel", "TwoLayerNetwork", "TwoLayerReLU"):
            kw["width"] = int(rng.integers(1, 4))
        return kw

    def check(kw, model):
        return _fd_check(model, np.random.default_rng(1))
    arrays = {"QuadraticModel": ("J", "H"), "SecondOrderRegression": ("J", "Q", "y"),
              "MatrixSensing": ("M",)}.get(name, ("X", "y"))
    bad = {}
    if "width" in make(np.random.default_rng(0)):
        bad["width"] = [0, -1, 2.5]
    if name == "MatrixSensing":
        bad["rank"] = [0, -1, 1.5]
    if name in ("LinearRegression", "UVModel", "DiagonalLinearNetwork", "TwoLayerNetwork",
                "TwoLayerReLU", "LogisticRegression"):
        bad["y"] = [np.ones(1), np.ones(50)]
    corruptions = ARRAY_CORRUPTIONS
    if name in ("LogisticRegression", "SoftmaxRegression"):
        corruptions = ("nan", "complex", "ndim")
    return Spec(make, lambda kw: cls(**kw), check, arrays=arrays, bad=bad,
                corruptions=corruptions)


def _opt_spec(name):
    import numlearn.dynamics as D

    cls = getattr(D, name)
    extra_bad = {"SGD": {"batch_size": [0, -1, 2.5]}, "ScaledGD": {"damping": [-1.0, np.nan]},
                 "SafeStepGD": {"fraction": [0.0, -1.0, np.nan]},  # > 1: allowed
                 "Momentum": {"momentum": [-0.1, 1.0, 1.5, np.nan], "batch_size": [0]},
                 "Adam": {"betas": [(1.0, 0.9), (0.9, -0.1), (0.9,)], "eps": [-1.0, np.nan],
                          "weight_decay": [-1.0]}}.get(name, {})

    def make(rng):
        X = rng.standard_normal((6, 3))
        return dict(lr=0.02, X=X, y=X @ rng.standard_normal(3), w0=rng.standard_normal(3))

    def call(kw):
        opt = cls(**{k: v for k, v in kw.items() if k not in ("X", "y", "w0")})
        if name == "ScaledGD":  # needs a factorized model (precondition)
            B = kw["X"][:, :1]
            model = D.MatrixSensing(B @ B.T / 6, rank=1)
            traj = D.train(model, np.abs(kw["X"][:, 1]) * 0.5, opt, 40, track=("loss",),
                           random_state=0)
            return model, traj
        model = D.LinearRegression(kw["X"], kw["y"])
        traj = D.train(model, kw["w0"], opt, 40, track=("loss",), random_state=0)
        return model, traj

    def check(kw, out):
        model, traj = out
        loss = np.asarray(traj.loss)
        if not np.all(np.isfinite(loss)):
            return "loss not finite at a small step"
        if name == "GD":  # the exact iteration
            w = kw["w0"].copy()
            for _ in range(40):
                w = w - kw["lr"] * np.asarray(model.grad(w))
            return _close(loss[-1], model.loss(w), rtol=1e-9, what="final loss")
        if name != "PerpGrad" and not loss[-1] <= loss[0] + 1e-12:
            return f"loss rose from {loss[0]} to {loss[-1]} at lr=0.02"
        return None
    return Spec(make, call, check,
                bad={"lr": [-1.0, 0.0, np.nan, np.inf, "fast"], **extra_bad})


def _schedules():
    import numlearn.dynamics as D

    def make(rng):
        return dict(name=str(rng.choice(["ConstantLR", "WarmupCosine"])),
                    peak=float(rng.random() + 0.1), total_steps=int(rng.integers(2, 20)),
                    warmup_steps=1, final=0.0)

    def call(kw):
        if kw["name"] == "ConstantLR":
            s = D.ConstantLR(kw["peak"])
        else:
            s = D.WarmupCosine(kw["peak"], kw["total_steps"], kw["warmup_steps"], kw["final"])
        return [float(s(t)) for t in range(kw["total_steps"] + 1)]

    def check(kw, lrs):
        if kw["name"] == "ConstantLR":
            return _close(lrs, [kw["peak"]] * len(lrs), what="lr")
        T, Wu, p, f = kw["total_steps"], kw["warmup_steps"], kw["peak"], kw["final"]
        if not (max(lrs) <= p + 1e-12 and min(lrs) >= f - 1e-12):
            return f"lr outside [final, peak]: {lrs}"
        if abs(lrs[-1] - f) > 1e-9 or abs(max(lrs) - p) > 1e-9:
            return f"schedule does not reach peak {p} and end at final {f}: {lrs}"
        return None
    return Spec(make, call, check,
                bad={"peak": [-1.0, np.nan, np.inf], "WarmupCosine/total_steps": [0, -1, 2.5],
                     "WarmupCosine/warmup_steps": [-1, 100],
                     "WarmupCosine/final": [-1.0, np.nan]})


def _linreg(rng, n=6, d=3):
    import numlearn.dynamics as D

    X = rng.standard_normal((n, d))
    return D.LinearRegression(X, rng.standard_normal(n))


def _train():
    import numlearn.dynamics as D

    def make(rng):
        model = _linreg(rng)
        return dict(model=model, w0=rng.standard_normal(3), optimizer=D.GD(0.05),
                    n_steps=int(rng.integers(0, 10)), every=1, random_state=0,
                    track=("loss",))

    def check(kw, traj):
        model, w = kw["model"], kw["w0"].copy()
        for _ in range(kw["n_steps"]):
            w = w - 0.05 * np.asarray(model.grad(w))
        return _close(np.asarray(traj.loss)[-1], model.loss(w), rtol=1e-9, what="loss")
    return Spec(make, lambda kw: D.train(**kw), check, arrays=("w0",),
                bad={"n_steps": [-1, 2.5, "3"], "every": [0, -1], "optimizer": [None, 0.1],
                     "w0": [np.zeros(5)], "track": [("loss", "speed")], "model": [None],
                     "random_state": RS_BAD})


def _curvature_spec(fn_name):
    import numlearn.dynamics as D

    fn = getattr(D, fn_name)

    def make(rng):
        return dict(model=_linreg(rng, 8, int(rng.integers(2, 5))), random_state=0)

    def w_of(kw):
        return np.zeros(kw["model"].n_params)

    def call(kw):
        kw = dict(kw)
        model, w = kw.pop("model"), kw.pop("w", None)
        if w is None:
            w = w_of({"model": model}) if hasattr(model, "n_params") else np.zeros(3)
        if fn_name == "sgd_linear_stability":
            return fn(model, w, kw.pop("lr", 0.1), kw.pop("batch_size", 2), **kw)
        if fn_name == "hessian_trace":
            kw.setdefault("exact", True)
        if fn_name == "hessian_density":
            kw.update(n_vectors=kw.get("n_vectors", 4), sigma=0.05,
                      n_steps=getattr(model, "n_params", 3))
        return fn(model, w, **kw)

    def check(kw, res):
        model = kw["model"]
        Hm = np.asarray(model.hessian(w_of(kw)))
        lam = np.linalg.eigvalsh(Hm)
        if fn_name == "sharpness":
            return _close(np.max(res.eigenvalues) if hasattr(res, "eigenvalues")
                          else res.sharpness, lam[-1], rtol=1e-6, what="sharpness")
        if fn_name == "hessian_trace":
            return _close(res.trace, np.trace(Hm), rtol=1e-8, what="trace")
        if fn_name == "ntk_eigenvalue":
            return _close(res.eigenvalue, lam[-1], rtol=1e-6, what="NTK eigenvalue "
                          "(= the Gauss-Newton = the Hessian's for least squares)")
        if fn_name == "gradient_overlap":
            g = np.asarray(model.grad(w_of(kw)))
            vals, vecs = np.linalg.eigh(Hm)
            top = vecs[:, -1]
            want = (top @ g) ** 2 / (g @ g)
            if vals[-1] - vals[-2] < 1e-6 * vals[-1]:
                return None  # a repeated top eigenvalue: the eigenspace is not unique
            return _close(res.overlap, want, rtol=1e-5, atol=1e-8, what="overlap")
        if fn_name == "hessian_density":
            grid, dens = np.asarray(res.grid), np.asarray(res.density)
            dx = grid[1] - grid[0]
            if abs(dens.sum() * dx - 1) > 2e-2:
                return f"mass {dens.sum() * dx} != 1"
            return None
        if fn_name == "sgd_linear_stability":
            thr = float(res.threshold)
            if not (np.isfinite(thr) and thr > 0):
                return f"threshold {thr}"
            return None
        raise AssertionError(fn_name)
    bad = {"model": [None, 3.0], "w": [np.zeros(50), np.full(4, np.nan)],
           "random_state": RS_BAD}
    if fn_name in ("sharpness", "gradient_overlap"):
        bad.update(tol=[-1.0, np.nan])
    if fn_name in ("sharpness", "gradient_overlap"):
        bad["k"] = [0, -1, 2.5, 100]
    if fn_name == "hessian_trace":
        bad.update(n_samples=[0, -1], method=["magic"])
    if fn_name == "hessian_density":
        bad.update(n_vectors=[0, -1], n_grid=[0, -3])
    if fn_name == "sgd_linear_stability":
        bad.update(lr=[-1.0, np.nan], batch_size=[0, -1, 100, 2.5])
    return Spec(make, call, check, bad=bad)


def _detectors():
    import numlearn.dynamics as D

    def make(rng):
        name = str(rng.choice(["detect_divergence", "detect_catapult",
                               "detect_edge_of_stability"]))
        seq = np.abs(rng.standard_normal(int(rng.integers(1, 12)))) + 0.1
        return dict(name=name, seq=seq)

    def call(kw):
        fn = getattr(D, kw["name"])
        if kw["name"] == "detect_edge_of_stability":
            return fn(kw["seq"], kw.get("lr", 1.0), band=kw.get("band", 0.1))
        if kw["name"] == "detect_divergence":
            return fn(kw["seq"], threshold=kw.get("threshold", 1e8))
        return fn(kw["seq"], spike_factor=kw.get("spike_factor", 1.5))

    def check(kw, out):
        s = kw["seq"]
        if kw["name"] == "detect_divergence":
            want = next((i for i, v in enumerate(s) if not np.isfinite(v) or v > 1e8), None)
            return None if out == want else f"{out} != {want}"
        if kw["name"] == "detect_catapult":
            peak = int(np.argmax(s))
            want = bool(s[peak] > 1.5 * s[0] and np.any(s[peak:] < s[0]))
            return None if bool(out.occurred) == want else f"occurred={out.occurred} != {want}"
        reached = np.flatnonzero(s >= 0.9 * 2.0)
        if not reached.size:
            return None if not out.occurred else "occurred without reaching 2/lr"
        return None
    return Spec(make, call, check, arrays=("seq",), corruptions=("complex", "object", "ndim"),
                bad={"detect_edge_of_stability/lr": [0.0, -1.0, np.nan],
                     "detect_edge_of_stability/band": [-0.1, 1.5],
                     "detect_divergence/threshold": [-1.0, np.nan],
                     "detect_catapult/spike_factor": [0.5, np.nan]})


def _softmax_tools():
    import numlearn.dynamics as D

    def make(rng):
        return dict(name=str(rng.choice(["stablemax", "softmax_collapse_fraction",
                                         "softmax_radius"])),
                    x=np.round(rng.standard_normal((int(rng.integers(1, 4)), 3)) * 3, 3))

    def call(kw):
        fn = getattr(D, kw["name"])
        if kw["name"] == "softmax_radius":
            return fn(kw["x"][0], logits=kw.get("logits"))
        return fn(kw["x"], axis=kw.get("axis", -1))

    def check(kw, out):
        x = kw["x"]
        if kw["name"] == "stablemax":
            s = np.where(x >= 0, x + 1.0, 1.0 / (1.0 - x))
            return _close(out, s / s.sum(-1, keepdims=True), rtol=1e-12, what="stablemax")
        if kw["name"] == "softmax_collapse_fraction":
            z = x - x.max(-1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
            want = np.mean(np.any(p == 0.0, axis=-1) | np.any(p == 1.0, axis=-1))
            return _close(out, want, what="collapse fraction")
        v = x[0]
        if np.ptp(v) == 0:
            return None if np.isinf(out) or out > 1e8 else f"radius {out} for a flat v"
        if not (np.isfinite(out) and out > 0):
            return f"radius {out}"
        return None
    return Spec(make, call, check, arrays=("x",), corruptions=("nan", "complex", "object"),
                bad={"stablemax/axis": [5, 1.5, "0"], "softmax_collapse_fraction/axis": [5, 1.5],
                     "softmax_radius/logits": [np.ones(7), np.array([np.nan] * 3)]})


def _from_jax():
    import numlearn.dynamics as D

    def make(rng):
        X = rng.standard_normal((5, 2))
        return dict(X=X, y=rng.standard_normal(5), w=rng.standard_normal(2))

    def call(kw):
        import jax.numpy as jnp

        def loss_fn(params, batch):
            X, y = batch
            return 0.5 * jnp.mean((X @ params - y) ** 2)
        jm = D.from_jax(loss_fn, jnp.asarray(kw["w"]), (kw["X"], kw["y"]),
                        dtype=kw.get("dtype", "float64"))
        return jm

    def check(kw, jm):
        ref = D.LinearRegression(kw["X"], kw["y"])
        w, v = np.array([0.3, -0.2]), np.array([1.0, 2.0])
        bad = _close(jm.grad(w), ref.grad(w), rtol=1e-6, what="grad")
        return bad or _close(jm.hvp(w, v), ref.hvp(w, v), rtol=1e-6, what="hvp")
    return Spec(make, call, check, bad={"dtype": ["float8", 3]})


# --------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------
def _gen(fn_name, make_kw, check, bad):
    import numlearn.datasets as DS

    fn = getattr(DS, fn_name)
    return Spec(make_kw, lambda kw: fn(**kw), check, bad=bad)


def _finite_all(*arrays):
    for a in arrays:
        a = a.toarray() if sp.issparse(a) else np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            return "a generated array is not finite"
    return None


def _datasets_specs():
    specs = {}

    def poisson_check(kw, A):
        n = kw.get("n", kw.get("n_grid"))
        T = np.diag(2.0 * np.ones(n)) - np.diag(np.ones(n - 1), 1) - np.diag(np.ones(n - 1), -1)
        if "n_grid" in kw:
            T = np.kron(T, np.eye(n)) + np.kron(np.eye(n), T)
        D = A.toarray()
        if D.shape != T.shape or not np.allclose(D / D.max(), T / T.max()):
            return "not the (scaled) second-difference matrix"
        return None
    specs["poisson_1d"] = _gen("poisson_1d", lambda r: dict(n=int(r.integers(2, 6))),
                               poisson_check, {"n": SIZES_BAD, "format": ["xyz"]})
    specs["poisson_2d"] = _gen("poisson_2d", lambda r: dict(n_grid=int(r.integers(2, 5))),
                               poisson_check, {"n_grid": SIZES_BAD, "format": ["xyz"]})

    def modular_check(kw, ds):
        p = kw["p"]
        pairs = np.concatenate([ds.pairs_train, ds.pairs_test])
        if len(pairs) != p * p:
            return f"{len(pairs)} pairs for p={p}"
        a, b = ds.pairs_train[:, 0], ds.pairs_train[:, 1]
        if not np.array_equal(np.asarray(ds.y_train), (a + b) % p):
            return "labels are not (a + b) mod p"
        return None
    specs["modular_arithmetic"] = _gen(
        "modular_arithmetic", lambda r: dict(p=int(r.choice([2, 3, 5, 7])), operation="+",
                                             train_fraction=0.5, random_state=0),
        modular_check, {"p": [0, 1, -3, 2.5], "operation": ["**"],
                        "train_fraction": [0.0, 1.5, np.nan], "random_state": RS_BAD})

    def seq_check(kw, seq):
        systems = list(seq)
        if len(systems) != kw["n_systems"]:
            return f"{len(systems)} systems"
        return _finite_all(*[s.A for s in systems], *[s.b for s in systems])
    specs["shifted_laplacian_sequence"] = _gen(
        "shifted_laplacian_sequence",
        lambda r: dict(n_grid=int(r.integers(10, 12)), n_systems=int(r.integers(1, 4)),
                       random_state=0), seq_check,
        {"n_grid": SIZES_BAD, "n_systems": [0, -1, 2.5], "offset": ["middle"],
         "random_state": RS_BAD})

    def hs_check(kw, prob):
        if prob.f_opt is not None and getattr(prob, "x_opt", None) is not None:
            if not math.isclose(prob.fun(np.asarray(prob.x_opt)), prob.f_opt, rel_tol=1e-5,
                                abs_tol=1e-6):
                return "f(x_opt) != f_opt"
        return None
    from numlearn.datasets import HS_INEQ_PROBLEM_NAMES, HS_PROBLEM_NAMES
    specs["hock_schittkowski"] = _gen(
        "hock_schittkowski", lambda r: dict(name=str(r.choice(list(HS_PROBLEM_NAMES)))),
        hs_check, {"name": ["hs999", 6, None]})
    specs["hock_schittkowski_ineq"] = _gen(
        "hock_schittkowski_ineq",
        lambda r: dict(name=str(r.choice(list(HS_INEQ_PROBLEM_NAMES)))), hs_check,
        {"name": ["hs999", 6]})

    def pde_check(kw, prob):
        x0 = np.asarray(prob.x0)
        return _finite_all(x0, prob.fun(x0), prob.jac(x0), prob.cons_fun(x0))
    specs["pde_control_problem"] = _gen(
        "pde_control_problem", lambda r: dict(n_grid=int(r.integers(2, 5)), alpha=0.1),
        pde_check, {"n_grid": SIZES_BAD, "alpha": [-1.0, 0.0, np.nan]})

    def clog_make(r):
        X = r.standard_normal((10, 3))
        return dict(X=X, y=(X[:, 0] > 0).astype(float), n_linear=2, random_state=0)
    specs["constrained_logistic_problem"] = Spec(
        clog_make, lambda kw: __import__("numlearn.datasets", fromlist=["x"])
        .constrained_logistic_problem(**kw), pde_check, arrays=("X",),
        bad={"n_linear": [-1, 2.5, 100], "y": [np.ones(3)], "random_state": RS_BAD},
        corruptions=("nan", "inf", "complex", "ndim"))  # numeric object arrays: accepted

    def ineq_check(kw, prob):
        x0 = np.asarray(prob.x0)
        return _finite_all(x0, prob.fun(x0), prob.jac(x0))
    for name in ("nnls_problem", "nonnegative_logistic_problem"):
        specs[name] = _gen(
            name, lambda r: dict(n_samples=int(r.integers(2, 8)),
                                 n_features=int(r.integers(1, 4)), random_state=0),
            ineq_check, {"n_samples": SIZES_BAD, "n_features": [0, -1, 1.5],
                         "random_state": RS_BAD})

    def ot_check(kw, out):
        a, b, M = (np.asarray(o) for o in out)
        if abs(a.sum() - 1) > 1e-12 or abs(b.sum() - 1) > 1e-12 or a.min() < 0 \
                or b.min() < 0:
            return "weights are not probability vectors"
        if M.shape != (a.size, b.size) or M.min() < 0:
            return "cost of the wrong shape or negative"
        return _finite_all(M)
    specs["ot_gaussian_clouds"] = _gen(
        "ot_gaussian_clouds", lambda r: dict(n=int(r.integers(1, 6)), m=int(r.integers(1, 6)),
                                             d=int(r.integers(1, 4)), random_state=0),
        ot_check, {"n": SIZES_BAD, "m": [0, -1], "d": [0, -2, 1.5], "shift": [np.nan],
                   "random_state": RS_BAD})
    specs["ot_random_assignment"] = _gen(
        "ot_random_assignment", lambda r: dict(n=int(r.integers(1, 6)), random_state=0),
        ot_check, {"n": SIZES_BAD, "random_state": RS_BAD})
    specs["ot_grid_1d"] = _gen(
        "ot_grid_1d", lambda r: dict(n=int(r.integers(2, 8))), ot_check, {"n": SIZES_BAD})

    def cd_check(kw, out):
        X, y = out[0], out[1]
        X = X.toarray() if sp.issparse(X) else np.asarray(X)
        if X.shape != (kw["n_samples"], kw["n_features"]) or len(y) != kw["n_samples"]:
            return f"X of shape {X.shape}"
        return _finite_all(X, y)
    cd_bad = {"n_samples": SIZES_BAD, "n_features": [0, -1, 2.5],
              "correlation": [-0.5, 1.0, np.nan], "column_scale": [0.0, -1.0, np.nan],
              "random_state": RS_BAD}
    for name in ("cd_least_squares", "cd_logistic", "cd_softmax"):
        specs[name] = _gen(
            name, lambda r: dict(n_samples=int(r.integers(3, 9)),
                                 n_features=int(r.integers(1, 5)), random_state=0),
            cd_check, cd_bad)
    specs["cd_l1_problem"] = _gen(
        "cd_l1_problem",
        lambda r: dict(kind=str(r.choice(["least_squares", "logistic"])),
                       n_samples=int(r.integers(4, 9)), n_features=int(r.integers(2, 6)),
                       n_informative=1, random_state=0),
        lambda kw, out: _finite_all(*[o for o in (out if isinstance(out, tuple) else [out])
                                      if isinstance(o, np.ndarray) or sp.issparse(o)]),
        {**cd_bad, "kind": ["poisson"], "alpha_ratio": [0.0, -1.0, 1.5],
         "n_informative": [-1, 100]})

    def lp_check(kw, prob):
        A = prob.A.toarray()
        if not np.allclose(A, A.T) or np.linalg.eigvalsh(A).min() <= 0:
            return "the label propagation matrix is not symmetric positive definite"
        return _finite_all(prob.b)
    specs["label_propagation_lattice"] = _gen(
        "label_propagation_lattice",
        lambda r: dict(n_grid=int(r.integers(3, 6)), labelled_fraction=0.3, random_state=0),
        lp_check, {"n_grid": SIZES_BAD, "labelled_fraction": [0.0, 1.5, np.nan],
                   "random_state": RS_BAD})
    specs["label_propagation_moons"] = _gen(
        "label_propagation_moons",
        lambda r: dict(n_samples=int(r.integers(20, 40)), n_neighbors=4,
                       labelled_fraction=0.2, random_state=0),
        lp_check, {"n_samples": SIZES_BAD, "n_neighbors": [0, -1, 1000],
                   "noise": [-1.0, np.nan], "labelled_fraction": [0.0, 1.5],
                   "random_state": RS_BAD})

    def heat_make(r):
        return dict(nx=int(r.integers(3, 8)), dt=float(r.choice([0.01, 0.001])))

    def heat_call(kw):
        from numlearn.datasets import Heat2D

        heat = Heat2D(**kw)
        out = []
        for system in heat.steps(2):
            x = np.linalg.solve(system.A.toarray(), system.b)
            out.append((system, x))
            heat.advance(x)
        return heat, out

    def heat_check(kw, out):
        heat, steps = out
        if heat.n_steps_taken != 2 or not math.isclose(heat.t, 2 * kw["dt"]):
            return f"{heat.n_steps_taken} steps to t={heat.t}"
        A = steps[0][0].A.toarray()
        if not np.allclose(A, A.T) or np.linalg.eigvalsh(A).min() <= 0:
            return "the implicit step's matrix is not symmetric positive definite"
        return _finite_all(heat.u)
    specs["Heat2D"] = Spec(heat_make, heat_call, heat_check,
                           bad={"nx": SIZES_BAD, "dt": POS_BAD, "coefficient": [3.0]})
    return specs


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------
def _metric(fn_name):
    import numlearn.metrics as M

    fn = getattr(M, fn_name)

    def make(rng):
        users = int(rng.integers(1, 4))
        rec = [list(rng.permutation(6)[:int(rng.integers(0, 6))]) for _ in range(users)]
        rel = [set(rng.permutation(6)[:int(rng.integers(1, 4))].tolist()) for _ in range(users)]
        return dict(recommended=rec, relevant=rel, k=int(rng.integers(1, 6)))

    def ref(rec, rel, k):
        rec = list(rec)[:k]
        hits = [1.0 if r in rel else 0.0 for r in rec]
        if fn_name == "precision_at_k":
            return sum(hits) / k
        if fn_name == "map_at_k":
            prec = [sum(hits[:i + 1]) / (i + 1) for i, h in enumerate(hits) if h]
            return sum(prec) / min(len(rel), k) if rel else 0.0
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
        return dcg / idcg if idcg else 0.0

    def check(kw, out):
        want = np.mean([ref(a, b, kw["k"]) for a, b in zip(kw["recommended"],
                                                           kw["relevant"])])
        return _close(out, want, rtol=1e-12, what=fn_name)
    return Spec(make, lambda kw: fn(**kw), check,
                bad={"k": [0, -1, 2.5, "3", None], "relevant": [[{1}] * 7, {1, 2}, 3],
                     "recommended": [[[1]] * 9, 5]})


# --------------------------------------------------------------------------------------
# plotting (bad input: a clear error; good input: the figure shows the data)
# --------------------------------------------------------------------------------------
def _plot_spec(fn_name):
    def make(rng):
        from numlearn.linalg import cg

        D = spd(4, rng)
        return dict(seed=int(rng.integers(1000)), res=cg(D, rng.standard_normal(4),
                                                          rtol=1e-10, return_history=True)
                    if fn_name == "plot_convergence" else None)

    def call(kw):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        import numlearn.plotting as P

        plt.close("all")
        rng = np.random.default_rng(kw["seed"])
        if fn_name == "plot_convergence":
            return P.plot_convergence(kw.get("what", kw["res"]), logy=kw.get("logy", True))
        if fn_name == "plot_plan":
            plan = kw.get("what", rng.random((3, 4)))
            return plan, P.plot_plan(plan, threshold=kw.get("threshold"))
        if fn_name == "plot_trajectory":
            from numlearn.dynamics import GD, LinearRegression, train

            model = LinearRegression(np.diag([1.0, 2.0]), np.array([1.0, 2.0]))
            traj = kw.get("what", train(model, np.zeros(2), GD(0.3), 5))
            return traj, P.plot_trajectory(traj, lr=kw.get("lr", 0.3))
        from numlearn.datasets import shifted_laplacian_sequence
        from numlearn.tuning import OmegaTuner

        tuner = kw.get("what")
        if tuner is None:
            seq = shifted_laplacian_sequence(n_grid=10, n_systems=4, random_state=0)
            tuner = OmegaTuner(random_state=0)
            tuner.solve_sequence(seq)
        return tuner, P.plot_omega_tuning(tuner)

    def check(kw, out):
        if fn_name == "plot_convergence":
            ys = out.lines[0].get_ydata()
            return _close(ys, kw["res"].history, what="plotted history")
        if fn_name == "plot_plan":
            plan, ax = out
            return _close(ax.images[0].get_array(), plan, what="image")
        if fn_name == "plot_trajectory":
            traj, fig = out
            return _close(fig.axes[0].lines[0].get_ydata(), traj.loss, what="loss line")
        tuner, fig = out
        y = fig.axes[0].lines[0].get_ydata()
        return None if math.isclose(y[-1], sum(tuner.costs_)) else "cumulative cost"
    # NaN values are plotted (gaps): a diverged history must stay drawable
    bad = {"plot_convergence": {"what": [3.0, "res", np.ones((2, 2))]},
           "plot_plan": {"what": [np.ones(3), "plan"],
                         "threshold": [-1.0, np.nan, 2.0]},
           "plot_trajectory": {"what": [3.0, None, "traj"], "lr": [-1.0, np.nan]},
           "plot_omega_tuning": {"what": [3.0, "tuner"]}}[fn_name]
    return Spec(make, call, check, bad=bad)


DATASET_TARGETS = (
    "poisson_1d", "poisson_2d", "modular_arithmetic", "shifted_laplacian_sequence",
    "hock_schittkowski", "hock_schittkowski_ineq", "pde_control_problem",
    "constrained_logistic_problem", "nnls_problem", "nonnegative_logistic_problem",
    "ot_gaussian_clouds", "ot_random_assignment", "ot_grid_1d", "cd_least_squares",
    "cd_logistic", "cd_softmax", "cd_l1_problem", "label_propagation_lattice",
    "label_propagation_moons", "Heat2D")


def spec_groups() -> dict:
    """``{family: [target names]}``: the default run fuzzes a family's targets in one
    worker process (one import, a few cases each)."""
    groups = {
        "linalg": ["spectral_density", "SketchOperator"],
        "tuning": ["TsallisINF", "ChebCB", "KernelCB", "ParameterTuner.solve",
                   "parameter_baselines", "omega_baselines", "default_omegas"],
        "optimize": ["minimize_eq", "minimize_constrained"],
        "linear_model": ["penalties[L1,L2,ElasticNetPenalty,NoPenalty]",
                         "datafits[Quadratic,Logistic]", "Multinomial"],
        "linear_model_glm": ["MultiTaskLasso.fit", "MultiTaskElasticNet.fit", "LassoCV.fit",
                             "ElasticNetCV.fit", "LogisticRegressionCV.fit",
                             "glm_penalties[solve_glm,WeightedL1,MCP,SCAD,GroupLasso]",
                             "GeneralizedLinearEstimator.fit"],
        "ot_completion_metrics": ["sinkhorn_divergence", "make_ratings", "implicit_loss",
                                  "ImplicitALS.fit", "precision_at_k", "map_at_k",
                                  "ndcg_at_k"],
        "dynamics_models": [f"dynamics:{n}" for n in (
            "LinearRegression", "QuadraticModel", "UVModel", "SecondOrderRegression",
            "MatrixSensing", "LogisticRegression", "SoftmaxRegression",
            "DiagonalLinearNetwork", "TwoLayerNetwork", "TwoLayerReLU")],
        "dynamics_training": ["GD", "SGD", "NormalizedGD", "ScaledGD", "SafeStepGD",
                              "PerpGrad", "Momentum", "Adam", "train",
                              "schedules[ConstantLR,WarmupCosine]",
                              "detectors[detect_divergence,detect_catapult,"
                              "detect_edge_of_stability]"],
        "dynamics_tools": ["sharpness", "hessian_density", "gradient_overlap",
                           "hessian_trace", "ntk_eigenvalue", "sgd_linear_stability",
                           "softmax_tools[stablemax,softmax_collapse_fraction,"
                           "softmax_radius]"],
        "datasets": list(DATASET_TARGETS),
        "plotting": ["plot_convergence", "plot_plan", "plot_trajectory",
                     "plot_omega_tuning"],
    }
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        groups["dynamics_tools"].append("from_jax")
    return groups


def build_specs() -> dict:
    """``{target name: target}``; a name is the public name it covers, several in brackets
    (``"penalties[L1,L2]"``), or ``"dynamics:Name"`` where the bare name is ambiguous
    across subpackages. Nothing is imported here (the factories run in the worker)."""
    specs = {
        "spectral_density": _spectral_density,
        "SketchOperator": _sketch_operator_class,
        "TsallisINF": _tsallis,
        "ChebCB": lambda: _contextual("ChebCB"),
        "KernelCB": lambda: _contextual("KernelCB"),
        "ParameterTuner.solve": _parameter_tuner,
        "parameter_baselines": _parameter_baselines,
        "omega_baselines": _omega_baselines,
        "default_omegas": _default_omegas,
        "minimize_eq": _minimize_eq,
        "minimize_constrained": _minimize_constrained,
        "penalties[L1,L2,ElasticNetPenalty,NoPenalty]": _penalties,
        "datafits[Quadratic,Logistic]": _datafits,
        "Multinomial": _multinomial,
        "MultiTaskLasso.fit": lambda: _multitask("MultiTaskLasso"),
        "MultiTaskElasticNet.fit": lambda: _multitask("MultiTaskElasticNet"),
        "LassoCV.fit": lambda: _linear_cv("LassoCV"),
        "ElasticNetCV.fit": lambda: _linear_cv("ElasticNetCV"),
        "LogisticRegressionCV.fit": _logistic_cv,
        "glm_penalties[solve_glm,WeightedL1,MCP,SCAD,GroupLasso]": _solve_glm,
        "GeneralizedLinearEstimator.fit": _glm_estimator,
        "sinkhorn_divergence": _sinkhorn_divergence,
        "make_ratings": _make_ratings,
        "implicit_loss": _implicit_loss,
        "ImplicitALS.fit": _implicit_estimator,
        "train": _train,
        "schedules[ConstantLR,WarmupCosine]": _schedules,
        "detectors[detect_divergence,detect_catapult,detect_edge_of_stability]": _detectors,
        "softmax_tools[stablemax,softmax_collapse_fraction,softmax_radius]": _softmax_tools,
    }
    for name in ("precision_at_k", "map_at_k", "ndcg_at_k"):
        specs[name] = (lambda n: lambda: _metric(n))(name)
    for name in ("plot_convergence", "plot_plan", "plot_trajectory", "plot_omega_tuning"):
        specs[name] = (lambda n: lambda: _plot_spec(n))(name)
    for name in DATASET_TARGETS:
        specs[name] = (lambda n: lambda: _datasets_specs()[n])(name)
    for name in ("LinearRegression", "QuadraticModel", "UVModel", "SecondOrderRegression",
                 "MatrixSensing", "LogisticRegression", "SoftmaxRegression",
                 "DiagonalLinearNetwork", "TwoLayerNetwork", "TwoLayerReLU"):
        specs[f"dynamics:{name}"] = (lambda n: lambda: _model_spec(n))(name)
    for name in ("GD", "SGD", "NormalizedGD", "ScaledGD", "SafeStepGD", "PerpGrad",
                 "Momentum", "Adam"):
        specs[name] = (lambda n: lambda: _opt_spec(n))(name)
    for name in ("sharpness", "hessian_density", "gradient_overlap", "hessian_trace",
                 "ntk_eigenvalue", "sgd_linear_stability"):
        specs[name] = (lambda n: lambda: _curvature_spec(n))(name)
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        specs["from_jax"] = _from_jax
    return {name: spec_target(factory) for name, factory in specs.items()}
