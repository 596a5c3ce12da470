"""Ids for what Mark-1 records (runs, conversations): sortable by time and readable."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id(random_bytes: int = 3) -> str:
    """``20261125-101502-3fa2c1``: the UTC time to the second, then random bits (24 by
    default: enough for what one person starts in a second; bulk records ask for more)."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(random_bytes)
