"""numlearn.plotting: what each helper draws (Agg backend), and its errors."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from numlearn.completion import altmin  # noqa: E402
from numlearn.datasets import (  # noqa: E402
    hock_schittkowski,
    ot_gaussian_clouds,
    poisson_2d,
    shifted_laplacian_sequence,
)
from numlearn.dynamics import GD, UVModel, train  # noqa: E402
from numlearn.linalg import cg, sketch_and_project, sor  # noqa: E402
from numlearn.linear_model import L1, Quadratic, coordinate_descent  # noqa: E402
from numlearn.optimize import minimize_eq  # noqa: E402
from numlearn.ot import sinkhorn  # noqa: E402
from numlearn.plotting import (  # noqa: E402
    plot_convergence,
    plot_omega_tuning,
    plot_plan,
    plot_trajectory,
)
from numlearn.tuning import OmegaTuner, omega_baselines  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def poisson():
    A = poisson_2d(12)
    return A, np.ones(A.shape[0])


@pytest.fixture(scope="module")
def ot_result():
    a, b, M = ot_gaussian_clouds(30, 20, random_state=0)
    return sinkhorn(a, b, M, 1e-2, return_history=True)


# ----------------------------------------------------------------------- plot_convergence
def test_convergence_draws_each_history_on_one_log_axis(poisson):
    A, b = poisson
    res_cg = cg(A, b, rtol=1e-10, return_history=True)
    res_sor = sor(A, b, 1.6, rtol=1e-10, return_history=True)
    ax = plot_convergence(res_cg, res_sor, labels=["cg", "sor"])
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res_cg.history)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), res_sor.history)
    # the history includes the starting residual: x runs from 0 to n_iter
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(res_cg.n_iter + 1))
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), np.arange(res_sor.n_iter + 1))
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cg", "sor"]
    assert ax.get_xlabel() == "iteration"
    assert "residual" in ax.get_ylabel()


def test_convergence_dict_labels_and_given_axes(poisson):
    A, b = poisson
    runs = {f"rtol={r:g}": cg(A, b, rtol=r, return_history=True) for r in (1e-4, 1e-8)}
    fig, ax = plt.subplots()
    out = plot_convergence(runs, ax=ax, logy=False, title="two tolerances")
    assert out is ax
    assert [line.get_label() for line in ax.lines] == list(runs)
    assert ax.get_yscale() == "linear"
    assert ax.get_title() == "two tolerances"
    assert len(ax.lines[1].get_ydata()) > len(ax.lines[0].get_ydata())


def test_convergence_sinkhorn_counts_from_one(ot_result):
    ax = plot_convergence(ot_result)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), ot_result.history)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(),
                                  np.arange(1, ot_result.n_iter + 1))
    assert "marginal" in ax.get_ylabel()
    assert ax.get_legend() is None  # nothing to label


def test_convergence_of_other_fields_and_x_coordinates():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 30))
    y = X[:, :3].sum(axis=1)
    alpha = 0.05 * np.abs(X.T @ y).max() / 60
    res = coordinate_descent(X, y, Quadratic(), L1(alpha), tol=1e-10, return_history=True)
    ax = plot_convergence(res, key="objective_history", x="updates_history")
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), res.updates_history)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.objective_history)
    assert ax.get_xlabel() == "coordinate updates"
    assert ax.get_ylabel() == "objective history"
    best = res.objective_history.min()
    ax = plot_convergence(res, key="objective_history", reference=best)
    gap = ax.lines[0].get_ydata()
    floor = np.finfo(float).eps * max(abs(best), 1.0)
    expected = res.objective_history - best
    above = expected > floor
    np.testing.assert_array_equal(gap[above], expected[above])
    assert not above.all()  # the last entry is the optimum: drawn at the rounding level
    np.testing.assert_array_equal(gap[~above], floor)
    ax = plot_convergence(res)  # the gap
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.history)
    assert "gap" in ax.get_ylabel()


def test_convergence_minimize_eq_altmin_train_and_arrays():
    p = hock_schittkowski("HS77")
    res = minimize_eq(p.fun, p.x0, jac=p.jac, hess=p.hess, constraints=p.constraints,
                      sketch="direct", tol=1e-8)
    ax = plot_convergence(res)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.history)
    assert ax.lines[0].get_xdata()[0] == 0
    assert "KKT" in ax.get_ylabel()

    rng = np.random.default_rng(0)
    L = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 25))
    rows, cols = np.nonzero(rng.random(L.shape) < 0.5)
    comp = altmin((rows, cols, L[rows, cols], L.shape), 2, max_iter=30, tol=1e-8,
                  random_state=0, return_history=True)
    ax = plot_convergence(comp)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), comp.history)
    assert ax.get_ylabel() == "training RMSE"

    model = UVModel([[1.0]], [0.0], width=20)
    traj = train(model, model.init_params(random_state=0), GD(0.2), 15, track=("loss",))
    ax = plot_convergence(traj)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), traj.steps)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), traj.loss)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "training loss")

    ax = plot_convergence([1.0, 0.1, 0.01])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_ylabel() == ""  # a bare array says nothing about its measure


def test_convergence_history_recorded_every_few_iterations():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((200, 20))
    b = A @ rng.standard_normal(20)
    res = sketch_and_project(A, b, sketch="kaczmarz", check_every=10, rtol=1e-6,
                             random_state=0, return_history=True)
    assert res.converged and res.n_iter > 30
    with pytest.warns(ConvergenceWarning):  # stopped between two checks, at maxiter
        short = sketch_and_project(A, b, sketch="kaczmarz", check_every=10, maxiter=95,
                                   rtol=1e-12, random_state=0, return_history=True)
    ax = plot_convergence(res, short)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(0, res.n_iter + 1, 10))
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.history)
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), np.r_[np.arange(0, 91, 10), 95])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), short.history)


def test_convergence_errors(poisson):
    A, b = poisson
    res = cg(A, b)
    with pytest.raises(ValueError, match="return_history=True"):
        plot_convergence(res)
    hist = cg(A, b, return_history=True)
    with pytest.raises(ValueError, match="labels must be a sequence of 2"):
        plot_convergence(hist, hist, labels=["one"])
    with pytest.raises(ValueError, match="at least one"):
        plot_convergence()
    with pytest.raises(ValueError, match="x='updates_history' is not a field"):
        plot_convergence(hist, x="updates_history")
    with pytest.raises(TypeError, match="did you mean .*'labels'"):
        plot_convergence(hist, lables=["cg"])


def test_import_does_not_load_matplotlib():
    code = "import sys, numlearn.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_matplotlib_missing_names_the_extra(monkeypatch, poisson):
    A, b = poisson
    res = cg(A, b, return_history=True)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "numlearn\[plot\]"'):
        plot_convergence(res)


# ------------------------------------------------------------------------------ plot_plan
def test_plan_dense_image_with_orderings(ot_result):
    plan = ot_result.plan.copy()
    rows = np.argsort(plan.sum(axis=1))
    cols = np.arange(plan.shape[1])[::-1]
    ax = plot_plan(ot_result, rows=rows, cols=cols, colorbar=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), plan[np.ix_(rows, cols)])
    np.testing.assert_array_equal(ot_result.plan, plan)  # input untouched
    assert len(ax.figure.axes) == 1
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("target point", "source point")


def test_plan_sparse_view_keeps_large_entries(ot_result):
    plan = ot_result.plan
    ax = plot_plan(plan, threshold=0.2)
    keep = plan > 0.2 * plan.max()
    i, j = np.nonzero(keep)
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), np.c_[j, i])
    np.testing.assert_allclose(ax.collections[0].get_array(), plan[i, j])
    assert ax.get_title().startswith(f"{keep.sum()} of {plan.size} entries")
    assert ax.get_ylim() == (plan.shape[0] - 0.5, -0.5)  # row 0 on top
    assert len(ax.figure.axes) == 2  # the colour bar


def test_plan_scipy_sparse_and_reordered_positions():
    plan = sp.csr_matrix(np.array([[0.0, 0.5, 0.0], [0.25, 0.0, 0.25]]))
    ax = plot_plan(plan, rows=[1, 0], colorbar=False)
    offsets = {tuple(o) for o in ax.collections[0].get_offsets()}
    # entry (0, 1) is drawn on row 1 once rows are swapped; (1, 0) and (1, 2) on row 0
    assert offsets == {(1.0, 1.0), (0.0, 0.0), (2.0, 0.0)}
    ax = plot_plan(plan, threshold=0.6, colorbar=False)
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), [[1, 0]])


def test_plan_errors(ot_result):
    with pytest.raises(ValueError, match="threshold"):
        plot_plan(ot_result.plan, threshold=1.5)
    with pytest.raises(ValueError, match="rows must be a permutation"):
        plot_plan(ot_result.plan, rows=[0, 1])
    with pytest.raises(ValueError, match="2-D"):
        plot_plan(np.ones(4))
    with pytest.raises(ValueError, match="'plan' field"):
        plot_plan(cg(np.eye(2), np.ones(2)))


# ------------------------------------------------------------------------ plot_trajectory
@pytest.fixture(scope="module")
def uv_runs():
    model = UVModel([[1.0]], [0.0], width=50)
    w0 = model.init_params(random_state=0)
    runs = {}
    for lr in (0.5, 1.5):
        runs[lr] = train(model, w0, GD(lr), 30, track=("loss", "ntk", "sharpness"),
                         random_state=0)
    return runs


def test_trajectory_loss_sharpness_and_stability_lines(uv_runs):
    fig = plot_trajectory(list(uv_runs.values()))
    ax_loss, ax_sharp = fig.axes
    assert ax_loss.get_yscale() == "log"
    for k, (lr, traj) in enumerate(uv_runs.items()):
        np.testing.assert_array_equal(ax_loss.lines[k].get_ydata(), traj.loss)
        np.testing.assert_array_equal(ax_loss.lines[k].get_xdata(), traj.steps)
        assert ax_loss.lines[k].get_label() == f"η = {lr:g}"
    curves = [line for line in ax_sharp.lines if line.get_linestyle() == "-"]
    dashed = [line for line in ax_sharp.lines if line.get_linestyle() == "--"]
    for curve, traj in zip(curves, uv_runs.values()):
        np.testing.assert_array_equal(curve.get_ydata(), traj.sharpness)
    assert [float(d.get_ydata()[0]) for d in dashed] == [2 / 0.5, 2 / 1.5]
    assert dashed[0].get_color() == curves[0].get_color()
    assert "sharpness" in ax_sharp.get_ylabel()


def test_trajectory_ntk_labels_and_given_lr(uv_runs):
    traj = uv_runs[1.5]
    fig, axes = plt.subplots(1, 2)
    out = plot_trajectory({"catapult?": traj}, lr=1.0, curvature="ntk", axes=axes,
                          logy=False)
    assert out is fig
    np.testing.assert_array_equal(axes[1].lines[0].get_ydata(), traj.ntk)
    assert float(axes[1].lines[1].get_ydata()[0]) == 2.0
    assert axes[0].lines[0].get_label() == "catapult?"
    assert axes[0].get_yscale() == "linear"


def test_trajectory_errors(uv_runs):
    model = UVModel([[1.0]], [0.0], width=20)
    traj = train(model, model.init_params(random_state=0), GD(0.2), 5, track=("loss",))
    with pytest.raises(ValueError, match="did not record 'sharpness'"):
        plot_trajectory(traj)
    with pytest.raises(ValueError, match="curvature"):
        plot_trajectory(traj, curvature="hessian")
    with pytest.raises(ValueError, match="lr must be one float or 2"):
        plot_trajectory(list(uv_runs.values()), lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="has no 'steps'"):
        plot_trajectory(cg(np.eye(2), np.ones(2)))


# ---------------------------------------------------------------------- plot_omega_tuning
@pytest.fixture(scope="module")
def tuning_run():
    seq = shifted_laplacian_sequence(n_grid=10, n_systems=25, offset="high", random_state=0)
    bandit = OmegaTuner(random_state=0)
    bandit.solve_sequence(seq)
    contextual = OmegaTuner(learner="chebcb", context_range=seq.context_range,
                            random_state=0)
    contextual.solve_sequence(seq)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = omega_baselines(seq)
    return seq, bandit, contextual, base


def test_omega_tuning_cumulative_costs_and_baselines(tuning_run):
    seq, bandit, contextual, base = tuning_run
    fig = plot_omega_tuning({"bandit": bandit, "contextual": contextual}, base)
    ax_cost, ax_omega = fig.axes
    labels = [line.get_label() for line in ax_cost.lines]
    assert labels[:2] == ["bandit", "contextual"]
    np.testing.assert_array_equal(ax_cost.lines[0].get_ydata(), np.cumsum(bandit.costs_))
    np.testing.assert_array_equal(ax_cost.lines[1].get_ydata(),
                                  np.cumsum(contextual.costs_))
    best = int(np.argmin(base.fixed_totals))
    assert labels[2] == f"fixed ω = {base.omegas[0]:g}"
    np.testing.assert_array_equal(ax_cost.lines[3].get_ydata(),
                                  np.cumsum(base.costs[:, best]))
    assert ax_cost.lines[4].get_ydata()[-1] == base.instance_optimal_total
    assert ax_cost.get_yscale() == "log"
    # chosen ω per system, then the instance-optimal ω, against the system number
    np.testing.assert_array_equal(ax_omega.collections[0].get_offsets(),
                                  np.c_[np.arange(1, 26), bandit.omegas_])
    np.testing.assert_array_equal(ax_omega.collections[2].get_offsets()[:, 1],
                                  base.instance_optimal_omegas)
    assert ax_omega.lines[0].get_ydata()[0] == base.best_fixed_omega


def test_omega_tuning_against_contexts(tuning_run):
    seq, bandit, contextual, _ = tuning_run
    fig = plot_omega_tuning([contextual], contexts=seq.shifts, labels=["ChebCB"])
    ax_cost, ax_omega = fig.axes
    assert ax_cost.lines[0].get_label() == "ChebCB"
    assert len(ax_cost.lines) == 1
    np.testing.assert_array_equal(ax_omega.collections[0].get_offsets(),
                                  np.c_[seq.shifts, contextual.omegas_])
    assert ax_omega.get_xlabel() == "context"


def test_omega_tuning_errors(tuning_run):
    seq, bandit, _, _ = tuning_run
    with pytest.raises(TypeError, match="must be an OmegaTuner"):
        plot_omega_tuning([np.ones(3)])
    with pytest.raises(ValueError, match="solved no system"):
        plot_omega_tuning(OmegaTuner())
    with pytest.raises(ValueError, match="contexts has 3 entries"):
        plot_omega_tuning(bandit, contexts=seq.shifts[:3])
