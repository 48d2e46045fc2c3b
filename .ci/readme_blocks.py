"""Run every ```python block of README.md as its own script; fail on any error.

Each block runs in a fresh interpreter (a subprocess with a time limit), from the
repository root, so a block passes only if it carries its own imports and data. A block
that imports CuPy is skipped, and says so, where CuPy or a GPU is absent.

Usage: ``python .ci/readme_blocks.py [README.md] [--timeout SECONDS]`` from the
repository root. Exit status 0 when every block ran (or was skipped for want of a GPU).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_CUPY = re.compile(r"^\s*(import cupy|from cupy)", re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown text: (line number of the fence, code)."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def gpu_usable() -> bool:
    """Whether CuPy is installed and sees a CUDA device."""
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def run_block(code: str, timeout: float) -> tuple[bool, str]:
    """Run one block in a fresh interpreter; return (passed, output)."""
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:g} s"
    return proc.returncode == 0, (proc.stdout + proc.stderr).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", default=str(ROOT / "README.md"))
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds allowed to each block (default 300)")
    args = parser.parse_args(argv)

    blocks = python_blocks(Path(args.readme).read_text(encoding="utf-8"))
    if not blocks:
        print(f"no ```python blocks in {args.readme}")
        return 1
    gpu = None
    failures = 0
    for line, code in blocks:
        label = f"README.md:{line}"
        if _CUPY.search(code):
            gpu = gpu_usable() if gpu is None else gpu
            if not gpu:
                print(f"SKIP {label}: needs CuPy and a CUDA GPU (not available here)")
                continue
        start = time.perf_counter()
        ok, output = run_block(code, args.timeout)
        elapsed = time.perf_counter() - start
        print(f"{'ok  ' if ok else 'FAIL'} {label} ({elapsed:.1f} s)")
        if output:
            print("\n".join("    " + s for s in output.splitlines()))
        failures += not ok
    print(f"{len(blocks)} blocks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
