"""Where the contour keeps its state and which ports it listens on (all overridable by environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ContourSettings:
    """Locations and addresses of the contour; read from the environment with documented defaults."""

    state_dir: Path
    host: str = "127.0.0.1"
    onec_port: int = 8081
    bitrix_port: int = 8082
    plain_http: bool = False

    @classmethod
    def from_env(cls) -> ContourSettings:
        state = Path(os.environ.get("CONTOUR_STATE_DIR", REPO_ROOT / ".contour"))
        return cls(
            state_dir=state,
            host=os.environ.get("CONTOUR_HOST", "127.0.0.1"),
            onec_port=int(os.environ.get("CONTOUR_ONEC_PORT", "8081")),
            bitrix_port=int(os.environ.get("CONTOUR_BITRIX_PORT", "8082")),
            plain_http=os.environ.get("CONTOUR_PLAIN_HTTP", "") in ("1", "true", "yes"),
        )

    @property
    def scheme(self) -> str:
        return "http" if self.plain_http else "https"

    @property
    def ca_file(self) -> Path:
        return self.state_dir / "ca.pem"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "contour.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "contour.log"

    @property
    def onec_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.onec_port}/accounting/odata/standard.odata/"

    @property
    def bitrix_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.bitrix_port}/"
