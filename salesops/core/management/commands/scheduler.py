"""``salesops scheduler``: enqueue the registered scheduled jobs when they are due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from salesops.core.scheduler import scheduler_loop


class Command(BaseCommand):
    help = "Enqueue due scheduled jobs (runs until interrupted; --once for a single tick)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        scheduler_loop(interval=interval, once=once)
