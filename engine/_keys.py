"""The installation's keys, kept outside the database.

The secret key signs the web app's session cookies and the public survey links mailed by the service-task handlers,
so both must read the same one: ``web.secret_key`` in config.toml, else a random key made once and kept in
``<data_dir>/secret_key`` (mode 0600).

The audit anchor key signs the audit trail's checkpoints (engine/_anchors.py): ``audit.anchor_key`` (best given as
$JORNADA_AUDIT_ANCHOR_KEY), else the file ``audit.anchor_key_file`` (default ``<data_dir>/audit_anchor_key``),
made (mode 0600) by the first anchor only. Once checkpoints exist it is never made again: a new key could not
verify them, so a missing key is an error naming where it was looked for.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine._config import ConfigError


class MissingKeyError(ConfigError):
    """A key the operation needs is not configured and its file does not exist."""


def _make(path: Path) -> None:
    """Create the key file once, even when several processes (web workers, schedulers) start at the same moment:
    the key is written whole to a private temporary file, then linked into place; ``os.link`` fails if the name
    exists, so the first process wins, the others keep its key, and nobody ever reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def secret_key(config: Mapping[str, Any]) -> str:
    configured = config.get("web", {}).get("secret_key")
    if configured:
        return str(configured)
    path = Path(config["data_dir"]) / "secret_key"
    if not path.exists():
        _make(path)
    return path.read_text().strip()


def anchor_key_file(config: Mapping[str, Any]) -> Path:
    configured = config["audit"]["anchor_key_file"]
    return Path(configured) if configured else Path(config["data_dir"]) / "audit_anchor_key"


def anchor_key(config: Mapping[str, Any], *, create: bool = False) -> bytes:
    """The key that signs audit checkpoints; ``create`` makes its file when neither it nor a configured key exist."""
    configured = config["audit"]["anchor_key"]
    if configured:
        return str(configured).encode()
    path = anchor_key_file(config)
    if not path.exists():
        if not create:
            raise MissingKeyError(
                f"the audit anchor key is missing: {path} does not exist and audit.anchor_key is not set "
                "(restore the key file, or point [audit] anchor_key_file / $JORNADA_AUDIT_ANCHOR_KEY_FILE at it)"
            )
        _make(path)
    key = path.read_text().strip()
    if not key:
        raise MissingKeyError(f"the audit anchor key file {path} is empty")
    return key.encode()
