from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

router = Router(tags=["plugin"])


@router.get("/plugin/ping")
def ping(request: HttpRequest) -> dict[str, str]:
    return {"pong": "plugin"}
