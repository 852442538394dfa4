"""Which engine and contour were measured."""

from __future__ import annotations

import hashlib
import subprocess

from bench import REPO


def code_fingerprint() -> dict:
    """Git HEAD, uncommitted files and a hash of the sources of plugins/crm1c and contour (others may be
    changing them while the bench runs)."""
    digest = hashlib.sha1()  # noqa: S324 - a fingerprint, not security
    for root in (REPO / "plugins" / "crm1c", REPO / "contour"):
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    dirty = [line[3:] for line in _git("status", "--porcelain", "plugins", "contour").splitlines() if line]
    head = _git("rev-parse", "--short", "HEAD").strip()
    return {"head": head, "dirty": dirty, "sources_sha1": digest.hexdigest()[:12]}


def _git(*cmd: str) -> str:
    try:
        return subprocess.run(
            ["git", *cmd], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.rstrip()
    except OSError:
        return ""
