"""What a memory can be. Its own module, with nothing heavy behind it, so that the CLI's
``--kind`` choices come from here at ``mark1 memory --help`` without loading the store.
(The ``memories`` table checks the same list in migration 0007.)"""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["turn", "run", "fact", "preference", "note"]
KINDS: tuple[str, ...] = get_args(Kind)
