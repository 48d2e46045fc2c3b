"""numlearn.optimize.minimize_eq and minimize_constrained against SciPy's trust-constr and SLSQP.

Same problems, same exact derivatives, same accuracy: every solver is judged by the KKT
residual ‖(∇f + Gᵀv, c)‖₂ ≤ 1e-6. minimize_eq stops on it (tol=1e-6); trust-constr is
stopped by a callback as soon as its (x, v) meet it; SLSQP (which has no such hook) runs
with ftol=1e-12 and its final KKT residual is tracked. `track_*_kkt` report the residual
each solver ends with, `track_*_nit`, `track_*_nfev` the outer iterations and objective
evaluations.
"""

import warnings

import numpy as np
from scipy.optimize import minimize

from numlearn.datasets import (
    HS_INEQ_PROBLEM_NAMES,
    HS_PROBLEM_NAMES,
    constrained_logistic_problem,
    hock_schittkowski,
    hock_schittkowski_ineq,
    nnls_problem,
    nonnegative_logistic_problem,
    pde_control_problem,
)
from numlearn.optimize import minimize_constrained, minimize_eq

from .common import quiet

KKT_TOL = 1e-6


def _ours(p, **kwargs):
    kwargs.setdefault("random_state", 0)
    return quiet(minimize_eq, p.fun, p.x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                 tol=KKT_TOL, **kwargs)


def _trust_constr(p):
    def stop(intermediate_result):
        if p.kkt_norm(intermediate_result.x, intermediate_result.v[0]) <= KKT_TOL:
            raise StopIteration

    res = quiet(minimize, p.fun, p.x0, jac=p.jac, hess=p.hess, method="trust-constr",
                constraints=[p.nonlinear_constraint()], callback=stop,
                options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 3000})
    res.kkt = p.kkt_norm(res.x, res.v[0])
    return res


def _slsqp(p):
    res = quiet(minimize, p.fun, p.x0, jac=p.jac, method="SLSQP",
                constraints=[{"type": "eq", "fun": p.cons_fun, "jac": p.cons_jac}],
                options={"ftol": 1e-12, "maxiter": 1000})
    multipliers = getattr(res, "multipliers", None)
    if multipliers is None:
        res.kkt = float("nan")
    else:  # SLSQP reports −λ for L = f + λᵀc
        res.kkt = p.kkt_norm(res.x, -np.asarray(multipliers, dtype=float))
    return res


class _Comparison:
    """Shared time_/track_ methods; subclasses set ``self.p`` and ``self.kwargs``."""

    def time_numlearn(self, *args):
        _ours(self.p, **self.kwargs)

    def time_scipy_trust_constr(self, *args):
        _trust_constr(self.p)

    def time_scipy_slsqp(self, *args):
        _slsqp(self.p)

    def track_numlearn_kkt(self, *args):
        return _ours(self.p, **self.kwargs).kkt_norm

    def track_scipy_trust_constr_kkt(self, *args):
        return _trust_constr(self.p).kkt

    def track_scipy_slsqp_kkt(self, *args):
        return _slsqp(self.p).kkt

    def track_numlearn_nit(self, *args):
        return _ours(self.p, **self.kwargs).nit

    def track_scipy_trust_constr_nit(self, *args):
        return _trust_constr(self.p).nit

    def track_scipy_slsqp_nit(self, *args):
        return _slsqp(self.p).nit

    def track_numlearn_nfev(self, *args):
        return _ours(self.p, **self.kwargs).nfev

    def track_scipy_trust_constr_nfev(self, *args):
        return _trust_constr(self.p).nfev

    def track_scipy_slsqp_nfev(self, *args):
        return _slsqp(self.p).nfev


class HockSchittkowski(_Comparison):
    """All 18 equality-constrained HS problems; minimize_eq with randomized Kaczmarz."""

    params = [list(HS_PROBLEM_NAMES)]
    param_names = ["problem"]
    timeout = 120

    def setup(self, problem):
        self.p = hock_schittkowski(problem)
        self.kwargs = {"sketch": "kaczmarz"}
        _ours(hock_schittkowski("HS48"), sketch="kaczmarz")  # Numba compilation

    def track_numlearn_n_inner(self, problem):
        return _ours(self.p, **self.kwargs).n_inner


class PDEControl(_Comparison):
    """PDE-constrained control (n = 2N², m = N², sparse) with exact (LU) inner solves.

    Randomized sketching of these saddle-point systems is far too slow at this size
    (see PDEControlSketched), so this compares the outer method with direct solves.
    """

    params = [[16, 32, 64]]
    param_names = ["n_grid"]
    timeout = 300

    def setup(self, n_grid):
        self.p = pde_control_problem(n_grid)
        self.kwargs = {"sketch": "direct"}

    def time_scipy_slsqp(self, n_grid):  # dense O(n³) per iteration: not a contender
        raise NotImplementedError

    def track_scipy_slsqp_kkt(self, n_grid):
        raise NotImplementedError

    def track_scipy_slsqp_nit(self, n_grid):
        raise NotImplementedError

    def track_scipy_slsqp_nfev(self, n_grid):
        raise NotImplementedError


class PDEControlSketched:
    """The PDE problem at small N with sketched inner solves (block sparse sign/Kaczmarz)."""

    params = [[4, 6], ["kaczmarz", "sparse_sign"]]
    param_names = ["n_grid", "sketch"]
    timeout = 300

    def setup(self, n_grid, sketch):
        self.p = pde_control_problem(n_grid)
        _ours(hock_schittkowski("HS48"), sketch=sketch)

    def time_numlearn(self, n_grid, sketch):
        _ours(self.p, sketch=sketch)

    def track_n_inner(self, n_grid, sketch):
        return _ours(self.p, sketch=sketch).n_inner

    def track_kkt(self, n_grid, sketch):
        return _ours(self.p, sketch=sketch).kkt_norm


class ConstrainedLogistic(_Comparison):
    """Logistic regression on breast cancer (d = 30) with Aw = b (10 rows), ‖w‖² = 1."""

    params = [["kaczmarz", "gaussian", "countsketch", "direct"]]
    param_names = ["sketch"]
    timeout = 300

    def setup(self, sketch):
        from sklearn.datasets import load_breast_cancer
        from sklearn.preprocessing import StandardScaler

        X, y = load_breast_cancer(return_X_y=True)
        self.p = constrained_logistic_problem(StandardScaler().fit_transform(X), y,
                                              random_state=0)
        self.kwargs = {"sketch": sketch}
        _ours(hock_schittkowski("HS48"), sketch=sketch)


class InexactSolves:
    """Genuinely inexact KKT solves still converge, with fewer sketch steps.

    One-vector randomized Kaczmarz throughout (``max_block_size=1``: no block growth, so
    the sketch-step counts compare like with like). ``accuracy_constant="paper"`` is the
    paper's ‖K‖_F Ψ, which makes every inner solve nearly exact (δ's floor binds);
    ``1.0`` (the default) stops the sketch at ‖r‖ ≤ θδ‖rhs‖, and a larger δ with a larger
    floor loosens it further.
    """

    params = [["HS40", "HS42", "HS56", "HS78", "HS79"],
              ["paper", "C=1", "C=1,delta=0.5"]]
    param_names = ["problem", "accuracy"]
    timeout = 120
    _settings = {
        "paper": {"accuracy_constant": "paper"},
        "C=1": {"accuracy_constant": 1.0},
        "C=1,delta=0.5": {"accuracy_constant": 1.0, "delta0": 0.5, "delta_min": 0.05},
    }

    def setup(self, problem, accuracy):
        self.p = hock_schittkowski(problem)
        self.options = {**self._settings[accuracy], "max_block_size": 1,
                        "inner_max_passes": 100_000}
        _ours(hock_schittkowski("HS48"), sketch="kaczmarz")

    def _run(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _ours(self.p, sketch="kaczmarz", options=self.options)

    def time_numlearn(self, problem, accuracy):
        self._run()

    def track_n_inner(self, problem, accuracy):
        return self._run().n_inner

    def track_nit(self, problem, accuracy):
        return self._run().nit

    def track_kkt(self, problem, accuracy):
        return self._run().kkt_norm

    def track_f_error(self, problem, accuracy):
        return abs(self._run().fun - self.p.f_opt)


# --------------------------------------------------------------------------------------
# minimize_constrained (SciPy's interface; inequalities and bounds) at KKT ≤ 1e-8
# --------------------------------------------------------------------------------------
KKT_TOL_CONSTRAINED = 1e-8

_INEQ_NAMES = list(HS_INEQ_PROBLEM_NAMES) + ["nnls", "nonnegative_logistic"]


def _ineq_problem(name):
    if name == "nnls":
        return nnls_problem(random_state=0)
    if name == "nonnegative_logistic":
        return nonnegative_logistic_problem(random_state=0)
    return hock_schittkowski_ineq(name)


def _constrained(p, sketch, **kwargs):
    """minimize_constrained through scipy.optimize.minimize, as a user calls it."""
    bounds = getattr(p, "bounds", None)
    cons = p.constraints if hasattr(p, "bounds") else p.nonlinear_constraint()
    res = quiet(minimize, p.fun, p.x0, method=minimize_constrained, jac=p.jac, hess=p.hess,
                constraints=cons, bounds=bounds, tol=KKT_TOL_CONSTRAINED,
                options={"sketch": sketch, "random_state": 0, **kwargs})
    res.kkt = p.kkt_norm(res.x, res.v if hasattr(p, "bounds") else res.v[0])
    return res


def _trust_constr_ineq(p):
    def stop(intermediate_result):
        if p.kkt_norm(intermediate_result.x, intermediate_result.v) <= KKT_TOL_CONSTRAINED:
            raise StopIteration

    res = quiet(minimize, p.fun, p.x0, jac=p.jac, hess=p.hess, method="trust-constr",
                constraints=p.constraints, bounds=p.bounds, callback=stop,
                options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 3000})
    res.kkt = p.kkt_norm(res.x, res.v)
    return res


def _slsqp_ineq(p):
    return quiet(minimize, p.fun, p.x0, jac=p.jac, method="SLSQP", bounds=p.bounds,
                 constraints=p.slsqp_constraints(), options={"ftol": 1e-12, "maxiter": 1000})


def _solved(p, res, kkt=None):
    """|f − f*| ≤ 1e-6, and the KKT residual (when the solver reports multipliers in
    trust-constr's layout) ≤ 1e-8; SLSQP is judged on f and its own success flag."""
    ok = abs(res.fun - p.f_opt) <= 1e-6
    return float(ok and (kkt <= KKT_TOL_CONSTRAINED if kkt is not None else res.success))


class InequalityProblems:
    """15+ Hock–Schittkowski problems with inequalities/bounds, NNLS, nonnegative logistic:
    minimize_constrained (through ``scipy.optimize.minimize(method=...)``) beside SLSQP
    and trust-constr, exact derivatives, solved = |f − f*| ≤ 1e-6 and KKT ≤ 1e-8."""

    params = [_INEQ_NAMES, ["auto", "gaussian"]]
    param_names = ["problem", "sketch"]
    timeout = 300

    def setup(self, problem, sketch):
        self.p = _ineq_problem(problem)
        _constrained(hock_schittkowski_ineq("HS35"), sketch)  # Numba compilation

    def time_numlearn(self, problem, sketch):
        _constrained(self.p, sketch)

    def time_scipy_trust_constr(self, problem, sketch):
        _trust_constr_ineq(self.p)

    def time_scipy_slsqp(self, problem, sketch):
        _slsqp_ineq(self.p)

    def track_numlearn_solved(self, problem, sketch):
        res = _constrained(self.p, sketch)
        return _solved(self.p, res, res.kkt)

    def track_scipy_trust_constr_solved(self, problem, sketch):
        res = _trust_constr_ineq(self.p)
        return _solved(self.p, res, res.kkt)

    def track_scipy_slsqp_solved(self, problem, sketch):
        return _solved(self.p, _slsqp_ineq(self.p))

    def track_numlearn_nit(self, problem, sketch):
        return _constrained(self.p, sketch).nit


class EqualityProblemsFrontDoor:
    """The 18 equality HS problems through ``scipy.optimize.minimize(method=
    minimize_constrained)`` at KKT ≤ 1e-8 (compare with HockSchittkowski's SciPy times,
    and with time_scipy_* here, at the same tolerance)."""

    params = [list(HS_PROBLEM_NAMES), ["auto", "gaussian"]]
    param_names = ["problem", "sketch"]
    timeout = 300

    def setup(self, problem, sketch):
        self.p = hock_schittkowski(problem)
        _constrained(hock_schittkowski("HS48"), sketch)

    def time_numlearn(self, problem, sketch):
        _constrained(self.p, sketch)

    def time_scipy_slsqp(self, problem, sketch):
        _slsqp(self.p)

    def time_scipy_trust_constr(self, problem, sketch):
        def stop(intermediate_result):
            if self.p.kkt_norm(intermediate_result.x,
                               intermediate_result.v[0]) <= KKT_TOL_CONSTRAINED:
                raise StopIteration

        quiet(minimize, self.p.fun, self.p.x0, jac=self.p.jac, hess=self.p.hess,
              method="trust-constr", constraints=[self.p.nonlinear_constraint()],
              callback=stop, options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 3000})

    def track_numlearn_kkt(self, problem, sketch):
        return _constrained(self.p, sketch).kkt


class PDEControlBounds:
    """PDE-constrained control with a lower bound on the control (z ≥ −1, active on most
    of the grid at N = 64): minimize_constrained (auto: sparse LU) beside trust-constr
    stopped at gtol = 1e-8 (SLSQP is dense O(n³): not a contender)."""

    params = [[8, 64]]
    param_names = ["n_grid"]
    timeout = 900

    def setup(self, n_grid):
        from scipy.optimize import Bounds

        self.p = pde_control_problem(n_grid)
        half = self.p.n // 2
        self.bounds = Bounds(np.r_[np.full(half, -np.inf), np.full(half, -1.0)], np.inf)

    def _ours(self):
        return quiet(minimize, self.p.fun, self.p.x0, method=minimize_constrained,
                     jac=self.p.jac, hess=self.p.hess,
                     constraints=self.p.nonlinear_constraint(), bounds=self.bounds,
                     tol=KKT_TOL_CONSTRAINED)

    def _trust_constr(self):
        return quiet(minimize, self.p.fun, self.p.x0, jac=self.p.jac, hess=self.p.hess,
                     method="trust-constr", constraints=self.p.nonlinear_constraint(),
                     bounds=self.bounds,
                     options={"gtol": KKT_TOL_CONSTRAINED, "xtol": 1e-12, "maxiter": 3000})

    def time_numlearn(self, n_grid):
        self._ours()

    def time_scipy_trust_constr(self, n_grid):
        self._trust_constr()

    def track_numlearn_fun(self, n_grid):
        return self._ours().fun

    def track_scipy_trust_constr_fun(self, n_grid):
        return self._trust_constr().fun
