"""Run every asv benchmark once at its smallest parameters: a quick check that the suite
imports, sets up and runs (the real measurements are taken with ``asv run``). Classes
whose names start with "_" are base classes and skipped, as asv does.

Usage: ``python .ci/bench_smoke.py`` from the repository root.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "asv_benchmarks"
sys.path.insert(0, str(ROOT))

PREFIXES = ("time_", "track_", "peakmem_", "mem_")


def smallest_params(cls):
    params = getattr(cls, "params", None)
    if params is None:
        return None
    if params and not isinstance(params[0], (list, tuple)):
        params = [params]
    return [p[0] for p in params]


def main() -> int:
    import benchmarks

    failures = 0
    count = 0
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name == "common":
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cls.__name__.startswith("_"):
                continue
            methods = [m for m in dir(cls) if m.startswith(PREFIXES)]
            if not methods:
                continue
            args = smallest_params(cls)
            args = [] if args is None else args
            for name in methods:
                obj = cls()
                start = time.perf_counter()
                try:
                    if hasattr(obj, "setup"):
                        obj.setup(*args)
                    value = getattr(obj, name)(*args)
                except NotImplementedError:
                    print(f"skip  {info.name}.{cls.__name__}.{name}{tuple(args)}")
                    continue
                except Exception as exc:  # report every failure, then fail
                    failures += 1
                    print(f"FAIL  {info.name}.{cls.__name__}.{name}{tuple(args)}: {exc!r}")
                    continue
                count += 1
                shown = "" if value is None else f" -> {value}"
                print(f"ok    {info.name}.{cls.__name__}.{name}{tuple(args)} "
                      f"{time.perf_counter() - start:.2f}s{shown}")
    print(f"{count} benchmarks ran, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
