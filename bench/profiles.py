"""cProfile hot spots as text, with the repository's and the venv's paths shortened."""

from __future__ import annotations

import io
import pstats

from bench import REPO


def profile_text(stats: pstats.Stats, top: int) -> str:
    """The ``top`` functions by own time, then crm1c/contour/bench functions by cumulative time."""
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"crm1c|contour|bench", top)
    return _shorten(buf.getvalue())


def _shorten(text: str) -> str:
    text = text.replace(str(REPO / "plugins") + "/", "").replace(str(REPO) + "/", "")
    return text.replace(str(REPO / ".venv" / "lib" / "python3.11" / "site-packages") + "/", "")
