"""Benchmarks of crm1c against the contour (scripts that print figures, not tests)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

#: The repository root: the contour runs from here, the code fingerprint hashes its sources.
REPO = Path(__file__).resolve().parent.parent
#: The interpreter that runs the bench (and its contour and worker subprocesses).
PY = sys.executable


def say(msg: str) -> None:
    """A progress line on stderr, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
