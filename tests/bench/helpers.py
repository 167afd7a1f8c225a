"""Running a bench script as the README does, in a subprocess, at a tiny size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *argv: str, timeout: float = 300) -> str:
    """What ``python bench/<script> <argv>`` printed; it must exit 0 (its stderr is the failure message)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
