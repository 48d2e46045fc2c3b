"""Plots of solver results: convergence histories, transport plans, GD trajectories, ω tuning.

matplotlib is an optional dependency (``pip install "numlearn[plot]"``); it is imported
only when a function of this module is called, so ``import numlearn.plotting`` costs
nothing without it. Every function draws on the Axes it is given (or on a new figure)
and returns what it drew on, so the plot can be adjusted afterwards:

plot_convergence
    The convergence history of one or several results (``cg``'s residual norms,
    ``sinkhorn``'s marginal errors, coordinate descent's duality gaps, ``altmin``'s
    training RMSE, ``minimize_eq``'s KKT residuals, ``train``'s loss) on one log axis.
plot_plan
    An optimal-transport plan, as an image or as its largest (or stored) entries.
plot_trajectory
    A :func:`~numlearn.dynamics.train` run: loss, and sharpness against ``2/η``.
plot_omega_tuning
    An :class:`~numlearn.tuning.OmegaTuner` run: cumulative iterations beside the
    grid-search baselines, and the ω chosen for each system.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import check_option, check_scalar, suggest_keywords

__all__ = ["plot_convergence", "plot_plan", "plot_trajectory", "plot_omega_tuning"]

_INSTALL_HINT = (
    'numlearn.plotting needs matplotlib, an optional dependency: pip install "numlearn[plot]" '
    '(the "docs" extra includes it too).'
)

# The convergence measure each family records in ``history``, recognised by a field only
# that family's results carry (first match wins).
_MEASURES = (
    ("marginal_error", "marginal error $\\|P1-a\\|_1 + \\|P^T1-b\\|_1$"),
    ("kkt_norm", "KKT residual $\\|(\\nabla_x L, c)\\|$"),
    ("rmse", "training RMSE"),
    ("objective_history", "duality gap (or KKT violation)"),
    ("residual_norm", "residual norm $\\|b - Ax\\|$"),
)


def _pyplot():
    """Import matplotlib.pyplot, or say how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _new_axes(ax: Any, ncols: int = 1, figsize: tuple[float, float] | None = None):
    """The given Axes (or sequence of Axes), or new ones on a new figure."""
    plt = _pyplot()
    if ax is not None:
        return ax
    fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return axes[0, 0] if ncols == 1 else list(axes[0])


def _to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of ``x`` (CuPy arrays are brought to the host)."""
    if not isinstance(x, np.ndarray) and hasattr(x, "get") and callable(x.get):
        x = x.get()
    return np.asarray(x)


def _labelled(items: tuple, labels: Any, what: str) -> tuple[list, list]:
    """Items and labels, from ``*items`` or from one ``{label: item}`` dict."""
    if len(items) == 1 and type(items[0]) is dict:
        if labels is not None:
            raise ValueError(f"labels must be None when {what} is a dict (its keys label it).")
        return list(items[0].values()), [str(k) for k in items[0]]
    if len(items) == 1 and isinstance(items[0], (list, tuple)) and items[0] \
            and not np.isscalar(items[0][0]):
        items = tuple(items[0])
    if not items:
        raise ValueError(f"{what}: pass at least one.")
    if labels is None:
        return list(items), [None] * len(items)
    if isinstance(labels, str) or len(labels) != len(items):
        raise ValueError(
            f"labels must be a sequence of {len(items)} strings, one per {what[:-1]}; "
            f"got {labels!r}."
        )
    return list(items), [str(s) for s in labels]


def _history(result: Any, key: str, i: int) -> tuple[np.ndarray, Any]:
    """The recorded measure of ``result`` and the mapping it came from (or None)."""
    if not isinstance(result, Mapping):
        y = _to_numpy(result).astype(float, copy=False)
        if y.ndim != 1:
            raise ValueError(
                f"results[{i}] must be a solver result or a 1-D array; got shape {y.shape}."
            )
        return y, None
    if key in result and result[key] is not None:
        name = key
    elif key == "history" and "loss" in result:  # a dynamics Trajectory
        name = "loss"
    else:
        raise ValueError(
            f"results[{i}] has no {key!r}: ask the solver for it (return_history=True), "
            f"or name a recorded field with key=; it has {sorted(result)}."
        )
    y = _to_numpy(result[name]).astype(float, copy=False)
    if y.ndim != 1:
        raise ValueError(f"results[{i}][{name!r}] must be 1-D; got shape {y.shape}.")
    return y, result


def _iterations(result: Any, y: np.ndarray, x: Any, i: int) -> np.ndarray:
    """The x coordinates of a history ``y``."""
    if x is not None:
        if not isinstance(result, Mapping) or x not in result:
            raise ValueError(f"x={x!r} is not a field of results[{i}].")
        xs = _to_numpy(result[x]).astype(float, copy=False)
        if xs.shape != y.shape:
            raise ValueError(
                f"results[{i}][{x!r}] has shape {xs.shape}, the history {y.shape}."
            )
        return xs
    if result is not None and "steps" in result and len(result["steps"]) == len(y):
        return _to_numpy(result["steps"])
    n_iter = None if result is None else result.get("n_iter")
    if n_iter is None or len(y) == int(n_iter):
        return np.arange(1, len(y) + 1)
    n_iter = int(n_iter)
    if len(y) == n_iter + 1:
        return np.arange(len(y))  # the first entry is the starting point
    if 2 <= len(y) <= n_iter:
        # the starting point, then a record every `check_every` iterations and one at the
        # end (sketch_and_project): the smallest spacing consistent with the count
        every = int(result.get("check_every") or -(-n_iter // (len(y) - 1)))
        return np.minimum(np.arange(len(y)) * every, n_iter)
    return np.arange(len(y))


def _measure_label(results: list) -> str | None:
    """The name of the measure recorded by every result, if they agree."""
    names = set()
    for r in results:
        if not isinstance(r, Mapping):
            return None
        if "history" not in r and "loss" in r:
            names.add("training loss")
            continue
        names.add(next((label for field, label in _MEASURES if field in r), None))
    return names.pop() if len(names) == 1 else None


@suggest_keywords
def plot_convergence(
    *results: Any,
    labels: Sequence[str] | None = None,
    ax: Any = None,
    key: str = "history",
    x: str | None = None,
    reference: float | None = None,
    logy: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    line_kws: dict | None = None,
) -> Any:
    """Draw the convergence history of one or several solver results on one axis.

    Parameters
    ----------
    *results : SolverResult or array-like
        Results of numlearn solvers run with ``return_history=True`` (``cg``, ``sor``,
        ``ssor_cg``, ``sketch_and_project``, ``sinkhorn``, ``sinkhorn_newton_sparse``,
        ``coordinate_descent``, ``altmin``), ``minimize_eq`` results (which always
        record it), :func:`~numlearn.dynamics.train` trajectories (their ``loss``), or
        plain 1-D arrays. A single dict ``{label: result}`` labels each by its key.
    labels : sequence of str, optional
        One legend entry per result.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    key : str, default "history"
        The recorded field to draw (e.g. ``"objective_history"`` for coordinate
        descent's objective values).
    x : str, optional
        A field to use as the x coordinates (e.g. ``"updates_history"``, coordinate
        updates). By default: ``steps`` for trajectories, otherwise the iteration
        number, starting at 0 when the history includes the starting point (``cg``,
        ``sor``, ``minimize_eq``: ``n_iter + 1`` entries) and at 1 otherwise; a history
        recorded every ``check_every`` iterations (``sketch_and_project``) is spread
        over the iterations it was recorded at.
    reference : float, optional
        A value subtracted from every history (e.g. the optimal objective, to draw
        ``objective − optimum``). On a log axis, differences below the rounding level
        ``eps · max(|reference|, 1)`` are drawn at that level.
    logy : bool, default True
        Log scale on the y axis.
    xlabel, ylabel, title : str, optional
        Axis labels and title. The y label defaults to the measure the results record
        (marginal error, KKT residual, RMSE, ...) when they all record the same one.
    line_kws : dict, optional
        Keyword arguments for every :meth:`~matplotlib.axes.Axes.plot` call
        (e.g. ``{"marker": "o"}``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; ``ax.lines[i]`` is the history of ``results[i]``.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If a result recorded no history (run the solver with ``return_history=True``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from numlearn.datasets import poisson_2d
    >>> from numlearn.linalg import cg, ssor_cg
    >>> from numlearn.plotting import plot_convergence
    >>> A = poisson_2d(20)
    >>> b = np.ones(A.shape[0])
    >>> runs = {"cg": cg(A, b, rtol=1e-8, return_history=True),
    ...         "ssor_cg": ssor_cg(A, b, 1.7, rtol=1e-8, return_history=True)}
    >>> ax = plot_convergence(runs)
    >>> [line.get_label() for line in ax.lines], ax.get_yscale()
    (['cg', 'ssor_cg'], 'log')
    >>> bool(np.array_equal(ax.lines[0].get_ydata(), runs["cg"].history))
    True
    """
    items, names = _labelled(results, labels, "results")
    line_kws = dict(line_kws or {})
    if reference is not None:
        reference = check_scalar(reference, "reference")
    ax = _new_axes(ax)
    for i, (result, label) in enumerate(zip(items, names)):
        y, mapping = _history(result, key, i)
        xs = _iterations(mapping, y, x, i)
        if reference is not None:
            y = y - reference
            if logy:
                y = np.maximum(y, np.finfo(float).eps * max(abs(reference), 1.0))
        ax.plot(xs, y, label=label, **line_kws)
    if logy:
        ax.set_yscale("log")
    if xlabel is None:
        xlabel = {"updates_history": "coordinate updates"}.get(x, x or "iteration")
        if all(isinstance(r, Mapping) and "steps" in r and "history" not in r for r in items):
            xlabel = "step"
    if ylabel is None:
        ylabel = _measure_label(items) if key == "history" else key.replace("_", " ")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if any(label is not None for label in names):
        ax.legend()
    return ax


@suggest_keywords
def plot_plan(
    plan: Any,
    ax: Any = None,
    *,
    threshold: float | None = None,
    rows: Any = None,
    cols: Any = None,
    cmap: str = "magma_r",
    colorbar: bool = True,
    markersize: float | None = None,
    title: str | None = None,
) -> Any:
    """Draw an optimal-transport plan: as an image, or as its largest entries.

    Parameters
    ----------
    plan : array-like, scipy sparse matrix or SolverResult
        The plan (shape ``(n, m)``), or a result with a ``plan`` field (``sinkhorn``,
        ``sinkhorn_newton_sparse``). CuPy arrays are copied to the host.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    threshold : float in [0, 1), optional
        The sparse view: draw only the entries larger than ``threshold * plan.max()``,
        as markers coloured by their mass (``threshold=0`` keeps every non-zero entry).
        A SciPy sparse plan is always drawn this way (its stored entries, filtered by
        ``threshold`` if given). By default a dense plan is drawn as an image.
    rows, cols : array-like of int, optional
        Orderings of the source and target points (e.g. ``np.argsort`` of a coordinate),
        which make the structure of a plan between point clouds visible.
    cmap : str, default "magma_r"
        Colour map.
    colorbar : bool, default True
        Add a colour bar for the mass.
    markersize : float, optional
        Marker area of the sparse view (default: smaller for larger plans).
    title : str, optional
        Axes title. The sparse view's default title says how many entries it kept.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: ``ax.images[0]`` holds the dense image; in the sparse view
        ``ax.collections[0]`` holds the markers at ``(column, row)``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from numlearn.datasets import ot_gaussian_clouds
    >>> from numlearn.ot import sinkhorn
    >>> from numlearn.plotting import plot_plan
    >>> a, b, M = ot_gaussian_clouds(40, 30, random_state=0)
    >>> res = sinkhorn(a, b, M, 1e-2)
    >>> ax = plot_plan(res)
    >>> ax.images[0].get_array().shape
    (40, 30)
    >>> ax = plot_plan(res, threshold=0.1)
    >>> n_kept = len(ax.collections[0].get_offsets())
    >>> n_kept == int(np.sum(res.plan > 0.1 * res.plan.max()))
    True
    """
    import scipy.sparse as sp

    if isinstance(plan, Mapping):
        if "plan" not in plan:
            raise ValueError(f"plan must be an array or a result with a 'plan' field; "
                             f"this result has {sorted(plan)}.")
        plan = plan["plan"]
    if threshold is not None:
        threshold = check_scalar(threshold, "threshold", low=0.0, high=1.0,
                                 include_high=False)
    if sp.issparse(plan):
        coo = sp.coo_matrix(plan)
        shape = coo.shape
        i, j, v = coo.row, coo.col, np.asarray(coo.data, dtype=float)
        sparse_view = True
    else:
        if hasattr(plan, "toarray") and hasattr(plan, "nnz"):  # cupyx sparse
            plan = plan.toarray()
        dense = _to_numpy(plan).astype(float, copy=False)
        if dense.ndim != 2:
            raise ValueError(f"plan must be 2-D; got shape {dense.shape}.")
        shape = dense.shape
        sparse_view = threshold is not None
    if not shape[0] or not shape[1]:
        raise ValueError(f"plan is empty (shape {shape}).")
    row_order = np.arange(shape[0]) if rows is None else _order(rows, shape[0], "rows")
    col_order = np.arange(shape[1]) if cols is None else _order(cols, shape[1], "cols")
    ax = _new_axes(ax)
    if not sparse_view:
        image = ax.imshow(dense[np.ix_(row_order, col_order)], cmap=cmap, aspect="auto",
                          interpolation="nearest")
        mappable = image
    else:
        if not sp.issparse(plan):
            i, j = np.nonzero(dense)
            v = dense[i, j]
        if threshold is not None and v.size:
            keep = v > threshold * v.max()
            i, j, v = i[keep], j[keep], v[keep]
        # position of each entry once rows and columns are reordered
        row_pos = np.empty(shape[0], dtype=np.intp)
        row_pos[row_order] = np.arange(shape[0])
        col_pos = np.empty(shape[1], dtype=np.intp)
        col_pos[col_order] = np.arange(shape[1])
        if markersize is None:
            markersize = max(1.0, 2000.0 / max(shape))
        mappable = ax.scatter(col_pos[j], row_pos[i], c=v, s=markersize, cmap=cmap,
                              marker="s", linewidths=0)
        ax.set_xlim(-0.5, shape[1] - 0.5)
        ax.set_ylim(shape[0] - 0.5, -0.5)  # row 0 on top, as in the image
        if title is None:
            title = (f"{v.size} of {shape[0] * shape[1]} entries "
                     f"({v.size / (shape[0] * shape[1]):.1%})")
    ax.set_xlabel("target point")
    ax.set_ylabel("source point")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(mappable, ax=ax, label="mass")
    return ax


def _order(order: Any, n: int, name: str) -> np.ndarray:
    """Check that ``order`` is a permutation of ``range(n)``."""
    order = np.asarray(order)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"{name} must be a permutation of range({n}).")
    return order.astype(np.intp)


def _as_list(obj: Any, labels: Any, what: str) -> tuple[list, list]:
    """One object, a sequence of them or a ``{label: object}`` dict, with labels."""
    if type(obj) is dict:
        return _labelled((obj,), labels, what)
    if isinstance(obj, (list, tuple)):
        return _labelled(tuple(obj), labels, what)
    return _labelled((obj,), None if labels is None else labels, what)


@suggest_keywords
def plot_trajectory(
    trajectory: Any,
    lr: float | Sequence[float] | None = None,
    *,
    labels: Sequence[str] | None = None,
    curvature: str = "sharpness",
    axes: Any = None,
    logy: bool = True,
    colors: Sequence[Any] | None = None,
) -> Any:
    """Draw a GD trajectory: the loss, and the sharpness against the stability line 2/η.

    Parameters
    ----------
    trajectory : Trajectory, sequence of Trajectory or dict
        Results of :func:`~numlearn.dynamics.train` (tracking ``"loss"`` and the
        ``curvature`` field); a dict ``{label: trajectory}`` labels each by its key.
    lr : float or sequence of float, optional
        The learning rate of each trajectory (one value for all, or one each). By
        default each trajectory's own ``lr``. A dashed line marks ``2/lr`` on the
        curvature panel, in the trajectory's colour: gradient descent on a quadratic is
        stable only below it.
    labels : sequence of str, optional
        Legend entries (default: ``η = <lr>``).
    curvature : {"sharpness", "ntk"}, default "sharpness"
        The curvature to draw on the right: the top Hessian eigenvalue or the top
        eigenvalue of the tangent kernel (record it with ``track=(..., "ntk")``).
    axes : pair of matplotlib.axes.Axes, optional
        Where to draw the loss and the curvature; a new figure by default.
    logy : bool, default True
        Log scale for the loss.
    colors : sequence of colours, optional
        One per trajectory (default: matplotlib's colour cycle).

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``fig.axes[0]`` is the loss panel, ``fig.axes[1]`` the curvature
        panel.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from numlearn.dynamics import GD, LinearRegression, train
    >>> from numlearn.plotting import plot_trajectory
    >>> model = LinearRegression(np.diag([1.0, 2.0]), np.array([1.0, 2.0]))
    >>> traj = train(model, np.zeros(2), GD(0.3), 20)
    >>> fig = plot_trajectory(traj)
    >>> ax_loss, ax_sharp = fig.axes
    >>> bool(np.array_equal(ax_loss.lines[0].get_ydata(), traj.loss))
    True
    >>> float(ax_sharp.lines[1].get_ydata()[0])  # the dashed line 2/η
    6.666666666666667
    """
    plt = _pyplot()
    curvature = check_option(curvature, "curvature", ("sharpness", "ntk"))
    trajs, names = _as_list(trajectory, labels, "trajectories")
    if lr is None:
        lrs = [t.get("lr") if isinstance(t, Mapping) else None for t in trajs]
    elif np.ndim(lr) == 0:
        lrs = [check_scalar(lr, "lr", low=0.0, include_low=False)] * len(trajs)
    else:
        lrs = [check_scalar(v, "lr", low=0.0, include_low=False) for v in lr]
        if len(lrs) != len(trajs):
            raise ValueError(f"lr must be one float or {len(trajs)} floats; got {len(lrs)}.")
    if colors is None:
        cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        colors = [cycle[k % len(cycle)] for k in range(len(trajs))]
    elif len(colors) != len(trajs):
        raise ValueError(f"colors must have {len(trajs)} entries; got {len(colors)}.")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss, ax_curv = axes
    for k, (traj, name, rate, color) in enumerate(zip(trajs, names, lrs, colors)):
        for field in ("steps", "loss", curvature):
            if not isinstance(traj, Mapping) or field not in traj:
                raise ValueError(f"trajectory {k} has no {field!r}: pass results of "
                                 "numlearn.dynamics.train.")
        values = _to_numpy(traj[curvature]).astype(float, copy=False)
        if not np.isfinite(values).any() and not traj.get("diverged", False):
            raise ValueError(f"trajectory {k} did not record {curvature!r}: train it with "
                             f"track=(\"loss\", {curvature!r}).")
        if name is None:
            name = "run" if rate is None else f"η = {rate:g}"
        steps = _to_numpy(traj["steps"])
        ax_loss.plot(steps, _to_numpy(traj["loss"]), color=color, label=name)
        ax_curv.plot(steps, values, color=color, label=name)
        if rate is not None:
            ax_curv.axhline(2.0 / rate, color=color, ls="--", lw=1)
    if logy:
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel="step", ylabel="training loss", title="loss")
    what = "sharpness $\\lambda_{max}(\\nabla^2 L)$" if curvature == "sharpness" \
        else "top NTK eigenvalue"
    ax_curv.set(xlabel="step", ylabel=what,
                title=f"{curvature} (dashed: 2/η)" if any(r is not None for r in lrs)
                else curvature)
    ax_loss.legend()
    return ax_loss.figure


@suggest_keywords
def plot_omega_tuning(
    tuners: Any,
    baselines: Any = None,
    *,
    labels: Sequence[str] | None = None,
    contexts: Any = None,
    axes: Any = None,
    logy: bool = True,
) -> Any:
    """Draw ω-tuning runs: cumulative iterations beside the baselines, and the ω chosen.

    Parameters
    ----------
    tuners : OmegaTuner, sequence of OmegaTuner or dict
        Tuners that have solved a sequence (their ``costs_`` and ``omegas_``); a dict
        ``{label: tuner}`` labels each by its key.
    baselines : SolverResult, optional
        :func:`~numlearn.tuning.omega_baselines` of the same sequence: adds the
        cumulative iterations of the first ω of the grid held fixed (ω = 1, Gauss–Seidel,
        on the default grid), of the best fixed ω in hindsight and of the instance-optimal
        ω (the lower bound), and the instance-optimal ω of each system.
    labels : sequence of str, optional
        Legend entries (default: the learner's class name).
    contexts : array-like of shape (n_systems,), optional
        The context of each system (e.g. ``sequence.shifts``): the chosen ω is drawn
        against it instead of against the system number.
    axes : pair of matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    logy : bool, default True
        Log scale for the cumulative iterations.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]``: cumulative iterations against systems solved (one line per
        tuner, then the baselines); ``fig.axes[1]``: the ω chosen per system (one
        scatter per tuner, then the instance-optimal ω).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from numlearn.datasets import shifted_laplacian_sequence
    >>> from numlearn.tuning import OmegaTuner, omega_baselines
    >>> from numlearn.plotting import plot_omega_tuning
    >>> seq = shifted_laplacian_sequence(n_systems=30, offset="low", random_state=0)
    >>> tuner = OmegaTuner(random_state=0)
    >>> _ = tuner.solve_sequence(seq)
    >>> fig = plot_omega_tuning(tuner, omega_baselines(seq))
    >>> [line.get_label() for line in fig.axes[0].lines][:2]
    ['TsallisINF', 'fixed ω = 1']
    >>> bool(fig.axes[0].lines[0].get_ydata()[-1] == sum(tuner.costs_))
    True
    """
    plt = _pyplot()
    items, names = _as_list(tuners, labels, "tuners")
    for k, tuner in enumerate(items):
        if not hasattr(tuner, "costs_") or not hasattr(tuner, "omegas_"):
            raise TypeError(f"tuners[{k}] must be an OmegaTuner (with costs_ and omegas_); "
                            f"got {type(tuner).__name__}.")
        if not len(tuner.costs_):
            raise ValueError(f"tuners[{k}] has solved no system yet.")
    if contexts is not None:
        contexts = _to_numpy(contexts).astype(float, copy=False)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_cost, ax_omega = axes
    for tuner, name in zip(items, names):
        if name is None:
            name = type(tuner.learner_).__name__
        costs = np.asarray(tuner.costs_)
        ax_cost.plot(np.arange(1, costs.size + 1), np.cumsum(costs), label=name)
        x = _omega_x(contexts, costs.size)
        ax_omega.scatter(x, np.asarray(tuner.omegas_), s=6, alpha=0.5, label=name)
    if baselines is not None:
        costs = np.asarray(baselines["costs"])
        omegas = np.asarray(baselines["omegas"])
        best = int(np.argmin(costs.sum(axis=0)))
        steps = np.arange(1, costs.shape[0] + 1)
        ax_cost.plot(steps, np.cumsum(costs[:, 0]), "k:", label=f"fixed ω = {omegas[0]:g}")
        ax_cost.plot(steps, np.cumsum(costs[:, best]), "k--",
                     label=f"best fixed ω = {omegas[best]:.2f} (hindsight)")
        ax_cost.plot(steps, np.cumsum(costs.min(axis=1)), "k-", lw=0.8,
                     label="instance-optimal ω")
        ax_omega.scatter(_omega_x(contexts, costs.shape[0]),
                         np.asarray(baselines["instance_optimal_omegas"]), s=6, c="k",
                         label="instance-optimal")
        ax_omega.axhline(omegas[best], color="k", ls="--", lw=1, label="best fixed")
    if logy:
        ax_cost.set_yscale("log")
    ax_cost.set(xlabel="systems solved", ylabel="total iterations", title="cumulative cost")
    ax_omega.set(xlabel="context" if contexts is not None else "system",
                 ylabel="ω", title="chosen ω")
    ax_cost.legend(fontsize=8)
    ax_omega.legend(fontsize=8)
    return ax_cost.figure


def _omega_x(contexts: np.ndarray | None, n: int) -> np.ndarray:
    """x coordinates of the ω panel: the contexts, or the system numbers."""
    if contexts is None:
        return np.arange(1, n + 1)
    if contexts.shape[0] < n:
        raise ValueError(f"contexts has {contexts.shape[0]} entries; {n} systems were solved.")
    return contexts[:n]
