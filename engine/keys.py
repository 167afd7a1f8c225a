"""The installation's secret key: signs the web app's session cookies and the public survey links mailed by the
service-task handlers, so both must read the same one. ``web.secret_key`` in config.toml, else a random key made
once and kept in ``<data_dir>/secret_key`` (mode 0600)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def secret_key(config: Mapping[str, Any]) -> str:
    configured = config.get("web", {}).get("secret_key")
    if configured:
        return str(configured)
    path = Path(config["data_dir"]) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
