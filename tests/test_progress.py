"""Progress reporting: lines, the tqdm bar, and ``verbose`` as bool or int."""

import io

import numpy as np
import pytest

from numlearn._progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_verbose_2_prints_every_iteration_and_the_last_once(capsys):
    progress = Progress("solver", verbose=2, measure="gap")
    for k in range(1, 4):
        progress.update(k, 10.0 ** -k)
    progress.update(3, 1e-3, final=True)  # the reported bug: this line printed twice
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "solver: iter 1", "solver: iter 2", "solver: iter 3"]
    assert "gap 1.000e-03" in lines[-1]


def test_verbose_1_prints_the_final_line_even_when_throttled(capsys):
    progress = Progress("solver", verbose=1, every_seconds=3600.0)
    for k in range(1, 50):
        progress.update(k, 1.0 / k)
    progress.update(50, 0.02, final=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("solver: iter 50  residual 2.000e-02")


@pytest.mark.parametrize("verbose", [0, False])
def test_silent(verbose, capsys):
    progress = Progress("solver", verbose=verbose, max_iter=10, bar=True)
    progress.update(1, 1.0, final=True)
    assert not progress.uses_bar
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("verbose", [3, -1, 1.5, "1"])
def test_bad_verbose(verbose):
    with pytest.raises((ValueError, TypeError), match="verbose"):
        Progress("solver", verbose=verbose)


def test_bar_on_a_terminal_with_eta_and_closed_once(capsys):
    pytest.importorskip("tqdm")
    stream = _Tty()
    progress = Progress("solver", verbose=True, max_iter=100, file=stream)
    assert progress.uses_bar
    for k in range(1, 21):
        progress.update(k, 1.0 / k)
    progress.update(20, 0.05, final=True)
    progress.update(21, 0.01)  # after the end: ignored
    text = stream.getvalue()
    assert "solver" in text and "20/100" in text and "<" in text  # tqdm's "elapsed<ETA"
    assert "residual 5.000e-02" in text
    assert "21/100" not in text
    assert capsys.readouterr().out == ""  # no lines besides the bar


def test_no_bar_in_a_log_unless_asked(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.delenv("NUMLEARN_PROGRESS_BAR", raising=False)
    log = io.StringIO()  # not a terminal
    progress = Progress("solver", verbose=1, max_iter=100, file=log)
    assert not progress.uses_bar
    progress.update(5, 0.5, final=True)
    assert capsys.readouterr().out.startswith("solver: iter 5")
    assert log.getvalue() == ""
    assert Progress("solver", verbose=1, max_iter=100, file=io.StringIO(), bar=True).uses_bar
    monkeypatch.setenv("NUMLEARN_PROGRESS_BAR", "1")
    assert Progress("solver", verbose=1, max_iter=100, file=io.StringIO()).uses_bar
    monkeypatch.setenv("NUMLEARN_PROGRESS_BAR", "0")
    assert not Progress("solver", verbose=1, max_iter=100, file=_Tty()).uses_bar


def test_no_bar_without_max_iter_or_at_verbose_2():
    pytest.importorskip("tqdm")
    assert not Progress("solver", verbose=1, file=_Tty()).uses_bar
    assert not Progress("solver", verbose=2, max_iter=10, file=_Tty()).uses_bar


def test_lines_when_tqdm_is_missing(capsys, monkeypatch):
    import numlearn._progress as progress_module

    monkeypatch.setattr(progress_module, "_tqdm", lambda: None)
    progress = Progress("solver", verbose=1, max_iter=100, file=_Tty(), bar=True)
    assert not progress.uses_bar
    progress.update(3, 0.25, final=True)
    assert capsys.readouterr().out.startswith("solver: iter 3  residual 2.500e-01")


def test_train_reports_a_bar_with_its_step_budget():
    pytest.importorskip("tqdm")
    from numlearn.dynamics import GD, LinearRegression, train

    stream = _Tty()
    model = LinearRegression(np.diag([1.0, 2.0]), np.ones(2))
    import numlearn._progress as progress_module

    original = progress_module.Progress.__init__

    def init(self, *args, **kwargs):
        kwargs.setdefault("file", stream)
        original(self, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(progress_module.Progress, "__init__", init)
    try:
        train(model, np.zeros(2), GD(lr=0.5), 30, track=("loss",), verbose=True)
    finally:
        mp.undo()
    assert "30/30" in stream.getvalue() and "loss" in stream.getvalue()


def test_cg_last_line_once(capsys):
    from numlearn.datasets import poisson_2d
    from numlearn.linalg import cg

    A = poisson_2d(4)
    res = cg(A, np.ones(A.shape[0]), verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(set(lines)) >= res.n_iter
    assert lines[-1].startswith(f"cg: iter {res.n_iter} ")


def test_a_jupyter_stream_counts_as_interactive():
    from numlearn._progress import _isatty

    kernel_stream = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})
    assert _isatty(kernel_stream()) and _isatty(_Tty()) and not _isatty(io.StringIO())
    assert not _isatty(object())
