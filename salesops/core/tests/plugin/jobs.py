from __future__ import annotations

import datetime


def tick(*, now: datetime.datetime) -> str:
    return f"ticked {now:%Y-%m-%d}"
