"""The engines' structure: one ``Engine`` base class states what every engine provides; the
local, Dask, array-API and CUDA engines implement it in their own modules; the implicit
ones add ``ImplicitEngine``'s two operations; no import circle among the family's modules."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numlearn.completion._array_api_engine import ArrayAPIEngine
from numlearn.completion._cuda_engine import CudaEngine
from numlearn.completion._dask_engine import DaskEngine
from numlearn.completion._engine import Engine, ImplicitEngine, NamespaceEngine
from numlearn.completion._local_engine import LocalEngine
from numlearn.completion._observations import check_observations


def test_every_engine_is_an_engine():
    for cls in (LocalEngine, DaskEngine, ArrayAPIEngine, CudaEngine):
        assert issubclass(cls, Engine)
        assert not getattr(cls, "__abstractmethods__", None), cls
    for cls in (LocalEngine, DaskEngine, ArrayAPIEngine):
        assert issubclass(cls, ImplicitEngine)
    assert issubclass(CudaEngine, NamespaceEngine) and not issubclass(CudaEngine, ImplicitEngine)
    with pytest.raises(TypeError, match="abstract"):
        Engine()
    assert {"stats", "half_step", "sse", "matvec"} <= Engine.__abstractmethods__
    assert ImplicitEngine.__abstractmethods__ >= {"implicit_half_step", "implicit_loss_terms"}


def test_local_engine_operations_against_dense_numpy():
    rng = np.random.default_rng(0)
    m, n, k = 7, 5, 2
    rows, cols = np.nonzero(rng.random((m, n)) < 0.6)
    vals = rng.standard_normal(rows.size)
    engine = LocalEngine(check_observations((rows, cols, vals, (m, n))))
    M = np.zeros((m, n))
    M[rows, cols] = vals
    mask = M != 0
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    x = rng.standard_normal(n)
    np.testing.assert_allclose(engine.matvec("rows", x), M @ x, rtol=1e-13)
    np.testing.assert_allclose(engine.sse(U, V), np.sum(((M - U @ V.T) * mask) ** 2),
                               rtol=1e-13)
    new_U, singular = engine.half_step("rows", V, U, "cholesky", 0.3, 1, 1)
    for i in range(m):  # each row: ridge regression on its observed columns
        Vi = V[mask[i]]
        expect = np.linalg.solve(Vi.T @ Vi + 0.3 * np.eye(k), Vi.T @ M[i, mask[i]])
        np.testing.assert_allclose(new_U[i], expect, rtol=1e-10, atol=1e-12)
    assert singular == 0
    assert engine.stats("rows") == (int(np.sum(mask.any(1))), rows.size,
                                    pytest.approx(float(vals @ vals)))


def test_no_import_cycle_in_completion():
    tool = Path("/work/shared/tools/import_cycles.py")
    if not tool.exists():
        pytest.skip("the import-cycle tool is not on this machine")
    root = Path(__file__).resolve().parents[1]
    while not (root / "numlearn").is_dir():
        root = root.parent
    out = subprocess.run([sys.executable, str(tool), str(root / "numlearn")],
                         capture_output=True, text=True).stdout
    assert "numlearn.completion" not in out, out
