"""When a municipality's new application replaces its current one (pure, no I/O).

A municipality has at most one current application per round. A later one replaces it; one
received earlier than the current one (a scan found late, say) is filed as replaced at once.
Later means received later, or at the same time but claimed later: inputs found in one scan
are claimed in file modification order, so the later file counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Receipt:
    """When an application came in, and the Eingangsnummer of its input."""

    received_at: datetime
    input_id: int


def replaces(new: Receipt, current: Receipt) -> bool:
    """True: ``new`` becomes the current application and ``current`` is replaced; False:
    ``new`` is older and is filed as replaced by ``current``."""
    return (current.received_at, current.input_id) <= (new.received_at, new.input_id)
