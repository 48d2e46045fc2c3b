"""README.md: every ```python block runs standalone (through .ci/readme_blocks.py)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "readme_blocks.py"


def _load():
    spec = importlib.util.spec_from_file_location("readme_blocks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extracts_python_blocks_only():
    rb = _load()
    text = "intro\n```bash\nls\n```\n```python\nx = 1\n```\ntext\n```python\nprint(2)\n```\n"
    assert rb.python_blocks(text) == [(5, "x = 1\n"), (9, "print(2)\n")]


def test_readme_has_blocks_with_their_own_imports():
    rb = _load()
    blocks = rb.python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    for line, code in blocks:
        assert "import" in code, f"README.md:{line} has no imports of its own"


def test_failing_and_gpu_blocks(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("```python\nprint(undefined_name)\n```\n"
                      "```python\nimport cupy as cp\nprint(cp.arange(3))\n```\n")
    rb = _load()
    proc = subprocess.run([sys.executable, str(SCRIPT), str(readme), "--timeout", "60"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FAIL README.md:1" in proc.stdout
    assert "NameError" in proc.stdout
    if not rb.gpu_usable():
        assert "SKIP README.md:4: needs CuPy" in proc.stdout
    assert "2 blocks, 1 failed" in proc.stdout


@pytest.mark.slow
def test_every_readme_block_runs():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ", 0 failed" in proc.stdout
