"""``salesops comp ...``: compute a period from plain files, statelessly.

Usage::

    salesops comp compute --plan plans/seed-rank-plan.toml --members M.csv --orders O.csv \\
        --period 2026-10 [--format csv|json] [--explain MEMBER_ID]
    salesops comp validate --plan plans/sales-commission.toml

Contract (other tools rely on it):

* stdout (csv): header ``member_id,paid_as,title,pv,pv_by_cutoff,sr_count,sr_volume,
  sales_bonus,morning_star,open_star,override,total`` and one row per member, sorted by
  member_id — numerically when every member_id is an integer (digits only), otherwise
  by string (Unicode code point) order. Money has exactly two decimals; an empty
  paid_as/title means none. ``override`` is the override accrued in the month (paid with
  the quarter's last statement) plus any BB/BBB leadership amount; ``total`` is the sum
  of the month's lines.
* ``--format json``: the same rows as JSON lines, money as strings with two decimals.
* ``--explain MEMBER_ID``: instead of the rows, that member's statement lines with their
  formulas (text; with ``--format json`` one JSON object per line).
* Exit 0 on success. Orders dated outside the period are ignored and counted on stderr.
* Exit 2 on bad input or usage, with ``file:line: reason`` lines (plan problems as
  ``file: key: reason``) on stderr and nothing on stdout. At most 200 problems are
  listed, then how many more there were.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import IO

import numpy as np
import polars as pl

from .engine.csvinput import InputError, load_input
from .engine.money import fmt_fen
from .engine.plan import PlanError, RankPlan, load_plan
from .engine.schedule import Period, override_statement_period, payout_date
from .engine.vectorised import MONEY_COLUMNS, OUTPUT_COLUMNS, PeriodResult, compute_period

EXIT_OK = 0
EXIT_BAD_INPUT = 2
MAX_LISTED = 200


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="salesops comp", description="Compensation plans and periods.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compute", help="compute one month for a whole network")
    c.add_argument("--plan", required=True)
    c.add_argument("--members", required=True)
    c.add_argument("--orders", required=True)
    c.add_argument("--period", required=True, help="YYYY-MM")
    c.add_argument("--format", choices=("csv", "json"), default="csv")
    c.add_argument("--explain", metavar="MEMBER_ID")
    v = sub.add_parser("validate", help="load and validate a plan file")
    v.add_argument("--plan", required=True)
    return p


def main(argv: Sequence[str] | None = None, stdout: IO[str] | None = None,
         stderr: IO[str] | None = None) -> int:  # fmt: skip
    """Run ``salesops comp``; ``argv`` excludes the program name (a leading "comp" is
    accepted too). Returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["comp"]:
        args_list = args_list[1:]
    try:
        args = _parser().parse_args(args_list)
    except _UsageError as exc:
        print(str(exc), file=err)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.command == "validate":
        return _validate(args.plan, out, err)
    return _compute(args, out, err)


def _validate(plan_path: str, out: IO[str], err: IO[str]) -> int:
    try:
        plan = load_plan(plan_path)
    except PlanError as exc:
        _print_issues([str(i) for i in exc.issues], err)
        return EXIT_BAD_INPUT
    print(f"{plan_path}: ok ({plan.header.kind} plan {plan.header.code})", file=out)
    return EXIT_OK


def _print_issues(lines: Sequence[str], err: IO[str]) -> None:
    for line in lines[:MAX_LISTED]:
        print(line, file=err)
    if len(lines) > MAX_LISTED:
        print(f"… and {len(lines) - MAX_LISTED} more problems", file=err)


def _compute(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    problems: list[str] = []
    period: Period | None = None
    try:
        period = Period.parse(args.period)
    except ValueError as exc:
        problems.append(f"--period: {exc}")
    plan: RankPlan | None = None
    try:
        loaded_plan = load_plan(args.plan)
        if isinstance(loaded_plan, RankPlan):
            plan = loaded_plan
        else:
            problems.append(f"{args.plan}: plan.kind: compute needs a rank plan")
    except PlanError as exc:
        problems.extend(str(i) for i in exc.issues)
    if plan is None or period is None:
        _print_issues(problems, err)
        return EXIT_BAD_INPUT
    try:
        loaded = load_input(args.members, args.orders, plan.rank_codes)
    except InputError as exc:
        _print_issues(problems + [str(i) for i in exc.issues], err)
        return EXIT_BAD_INPUT
    if problems:
        _print_issues(problems, err)
        return EXIT_BAD_INPUT
    explain_index: int | None = None
    if args.explain is not None:
        explain_index = _find_member(loaded.input.member_ids, args.explain, loaded.integer_ids)
        if explain_index is None:
            print(f"--explain: unknown member_id {args.explain!r}", file=err)
            return EXIT_BAD_INPUT

    result = compute_period(plan, loaded.input, period)
    if result.ignored_orders:
        print(
            f"{args.orders}: {result.ignored_orders} orders dated outside {period} ignored",
            file=err,
        )
    if explain_index is not None:
        _write_explain(result, explain_index, args.format, out)
    else:
        _write_rows(result, loaded.output_order, args.format, out)
    return EXIT_OK


def _find_member(ids: Sequence[str], wanted: str, integer_ids: bool) -> int | None:
    w = wanted.strip()
    if integer_ids:
        if not w.isdigit() or len(w) > 18:
            return None
        target = int(w)
        for i, mid in enumerate(ids):
            if int(mid) == target:
                return i
        return None
    for i, mid in enumerate(ids):
        if mid == w:
            return i
    return None


def _money_expr(col: str) -> pl.Expr:
    c = pl.col(col)
    a = c.abs()
    sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format(
        "{}{}.{}", sign, (a // 100).cast(pl.String), (a % 100).cast(pl.String).str.zfill(2)
    ).alias(col)


def rows_frame(result: PeriodResult, order: np.ndarray) -> pl.DataFrame:
    """The output rows, in output order, with money formatted as two-decimal strings."""
    df = result.to_polars()[order]
    # none is an empty field (null), not a quoted empty string
    blanks = [pl.col(c).replace("", None) for c in ("paid_as", "title")]
    return df.with_columns(*blanks, *(_money_expr(c) for c in MONEY_COLUMNS)).select(OUTPUT_COLUMNS)


def _write_rows(result: PeriodResult, order: np.ndarray, fmt: str, out: IO[str]) -> None:
    df = rows_frame(result, order)
    text = df.write_csv() if fmt == "csv" else df.write_ndjson()
    out.write(text)
    out.flush()


def _write_explain(result: PeriodResult, i: int, fmt: str, out: IO[str]) -> None:
    plan, period = result.plan, result.period
    mid = result.member_id(i)
    lines = result.lines_for(i)
    if fmt == "json":
        for li in lines:
            out.write(
                json.dumps(
                    {
                        "member_id": mid,
                        "rule": li.rule,
                        "name": li.name,
                        "amount": f"{li.amount:.2f}",
                        "formula": li.formula,
                        "inputs": li.inputs,
                        "source_member": li.source_member,
                        "generation": li.generation,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        return
    paid = int(result.paid_as[i])
    title = int(result.title[i])
    w = out.write
    w(f"会员 member {mid}  期间 period {period}  方案 plan {plan.header.code}\n")
    w(
        f"paid_as {result.rank_code(paid) or '-'}"
        f"{f' ({plan.ranks[paid].name})' if paid >= 0 else ''}  "
        f"title {result.rank_code(title) or '-'}\n"
    )
    w(
        f"pv {fmt_fen(int(result.pv[i]))}  pv_by_cutoff {fmt_fen(int(result.pv_by_cutoff[i]))}  "
        f"sr_count {int(result.sr_count[i])}  sr_volume {fmt_fen(int(result.sr_volume[i]))}\n"
    )
    for li in lines:
        w(f"{li.name}  {li.formula}\n")
    w(f"合计 total {fmt_fen(int(result.total[i]))}\n")
    w(
        f"发放 payout {payout_date(plan, period).isoformat()}; {plan.override.name} accrues "
        f"monthly, paid with the {override_statement_period(plan, period)} statement\n"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
