"""``manage.py build_demo``: build the deterministic demo company (see salesops.demo)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from salesops.demo.builder import DEFAULT_SEED, build_demo


class Command(BaseCommand):
    help = "生成演示数据（公司、员工、客户、会员网络、12个月订单）/ build the demo data set"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="size factor (1.0 = ~10,000 members)"
        )
        parser.add_argument(
            "--force", action="store_true", help="delete an existing demo and rebuild it"
        )
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="the day the data ends on, YYYY-MM-DD (default: today)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["scale"] <= 0:
            from django.core.management.base import CommandError

            raise CommandError("--scale must be positive")

        def out(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        build_demo(
            seed=options["seed"],
            scale=options["scale"],
            force=options["force"],
            today=options["today"],
            out=out,
        )
