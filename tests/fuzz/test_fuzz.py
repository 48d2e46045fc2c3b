"""Fuzzing every public entry point that takes arrays or sparse matrices (issue #22).

Each target runs its cases in a subprocess (``_worker.py``) with a time limit, so that a
crash of the interpreter (SIGSEGV, glibc abort) or a hang is a test failure naming its
case, not a lost test run. A case passes when malformed input is refused with a
``ValueError``/``TypeError``, valid input gets an answer that passes its check (or an
honest ``converged=False`` with one ``ConvergenceWarning``), no input is modified (byte
for byte) and no call takes longer than its limit. The default run is small and seeded;
``-m slow`` runs wider budgets with other seeds.

The hand-written targets (``_targets.py``) run one worker each; the table-driven ones
(``_specs.py``: every other public callable) run by family, one worker per family, a few
cases each by default and 200 each in the slow run. ``test_fuzz_coverage.py`` fails when a
public callable has neither a target nor a reason on its exemption list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _specs import spec_groups  # noqa: E402
from _targets import TARGETS  # noqa: E402

#: the table-driven targets (``_specs.py``) run by family, one worker process each
SPEC_GROUPS = spec_groups()
SPEC_TARGETS = {name for names in SPEC_GROUPS.values() for name in names}

#: cases per target in the default run, and the seed (fixed: the run is reproducible)
DEFAULT_CASES, DEFAULT_SEED = 20, 22
#: cases per table-driven target in the default run (the slow run gives each 200)
SPEC_CASES = 6
#: seconds one call may take (first calls in a process include Numba's cache loading)
CASE_LIMIT = 20.0


def _run(target: str, seed: int, n_cases: int, timeout: float) -> tuple[list[str], int]:
    env = dict(os.environ)
    root = str(HERE.parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONWARNINGS"] = "ignore"  # the worker records warnings itself
    cmd = [sys.executable, str(HERE / "_worker.py"), target, str(seed), str(n_cases),
           str(CASE_LIMIT)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        out, code, err = proc.stdout, proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code, err = "timeout", ""
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    failures = [f"{e['case']}: {e['outcome']}" for e in events
                if "outcome" in e and e["outcome"].startswith("FAIL")]
    done = sum("done" in e for e in events) == len(target.split(";"))
    if not done:
        started = [e for e in events if "start" in e]
        last = started[-1]["case"] if started else "(before the first case)"
        what = "hung (time limit)" if code == "timeout" else f"died (exit code {code})"
        failures.append(f"the worker {what} during case: {last}\n{err[-2000:]}")
    outcomes = [e["outcome"] for e in events if "outcome" in e]
    return failures, len(outcomes)


def _check(target, seed, n_cases, timeout):
    failures, n_run = _run(target, seed, n_cases, timeout)
    assert not failures, f"{target}: {len(failures)} failing case(s):\n" + "\n".join(failures)
    assert n_run == n_cases * len(target.split(";"))


@pytest.mark.parametrize("target", sorted(set(TARGETS) - SPEC_TARGETS))
def test_fuzz(target):
    _check(target, DEFAULT_SEED, DEFAULT_CASES, timeout=120)


@pytest.mark.parametrize("group", sorted(SPEC_GROUPS))
def test_fuzz_family(group):
    """The table-driven targets of one family, a few cases each, in one worker."""
    _check(";".join(SPEC_GROUPS[group]), DEFAULT_SEED, SPEC_CASES, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("target", sorted(set(TARGETS) - SPEC_TARGETS))
def test_fuzz_wide(target, seed):
    _check(target, seed, 200, timeout=900)
