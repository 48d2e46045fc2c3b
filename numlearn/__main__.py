"""``python -m numlearn``: the tour of numlearn's solvers."""

from __future__ import annotations

import argparse
import sys

from numlearn import __version__

DESCRIPTION = """\
The numlearn tour: runs every solver numlearn has on a small built-in problem and prints
one row per capability: the solver, the problem and its size, the iterations (or
mat-vecs) it took, the wall time, and its error against an independent reference
(SciPy, NumPy or a closed form). Times include no compilation: kernels are warmed first.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m numlearn", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="WORD",
                        help="run only rows whose family or solver contains WORD")
    parser.add_argument("--version", action="version", version=f"numlearn {__version__}")
    args = parser.parse_args(argv)

    from numlearn._tour import format_table, run_tour

    print(f"numlearn {__version__} tour\n")
    rows = run_tour(args.only)
    if not rows:
        print("no row matches", " ".join(args.only or []))
        return 1
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
