import pytest

from numlearn.__main__ import main
from numlearn._tour import ROWS, format_table, run_tour

# Largest acceptable error for each row's solver, against the row's own reference.
TOLERANCES = {
    "cg": 1e-8,
    "sor": 1e-8,
    "lanczos_eigsh": 1e-8,
    "hutchinson_trace": 2e-2,
    "sketch_and_project": 1e-6,
    "sketch_operator": 0.5,
    "OmegaTuner": 1e-6,
    "altmin": 1e-6,
    "minimize_eq": 1e-6,
    "Lasso": 1e-6,
    "LogisticRegression": 1e-5,
    "sinkhorn_newton_sparse": 1e-8,
    "sinkhorn": 1e-6,
    "sharpness": 1e-8,
    "train (catapult)": 1e-9,
    "train (edge of stability)": 0.1,
    "sgd_linear_stability": 1e-8,
}


def test_every_row_has_a_tolerance():
    assert {solver for _, solver, _ in ROWS} == set(TOLERANCES)


def test_tour_rows_are_accurate():
    rows = run_tour()
    assert len(rows) == len(ROWS)
    for (_, solver, _), row in zip(ROWS, rows):
        assert row.error <= TOLERANCES[solver], (solver, row.error)
        assert row.seconds >= 0
    table = format_table(rows)
    assert table.count("\n") == len(rows) + 1


def test_main_only_and_help(capsys):
    assert main(["--only", "cg"]) == 0
    out = capsys.readouterr().out
    assert "cg" in out and "2-D Poisson" in out and "lanczos" not in out
    assert main(["--only", "no-such-solver"]) == 1
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "one row per capability" in capsys.readouterr().out
