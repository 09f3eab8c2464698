"""Declarative plan files (TOML): loading, validation and the frozen plan model.

A company writes its plan as data; nothing in a plan is a constant in code. Loading
validates the whole file and reports *every* problem at once (file, key, reason), so a
plan author fixes a file in one pass instead of one error per run.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = object()
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
VOLUME_BASES = ("pv", "pv_by_cutoff")


@dataclass(frozen=True)
class PlanIssue:
    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class PlanError(Exception):
    """A plan file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[PlanIssue]) -> None:
        self.issues: list[PlanIssue] = list(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class VolumeRules:
    aro_counts: bool
    early_cutoff_day: int
    early_cutoff_inclusive: bool
    bonus_volume_factor: Decimal
    vat_divisor: Decimal


@dataclass(frozen=True)
class Rounding:
    quantum: Decimal
    mode: str
    per: str


@dataclass(frozen=True)
class RateTier:
    min_pv: Decimal
    rate: Decimal


@dataclass(frozen=True)
class SalesBonus:
    name: str
    tiers: tuple[RateTier, ...]  # highest min_pv first


@dataclass(frozen=True)
class Rank:
    code: str
    name: str
    pv: Decimal
    sr_volume: Decimal
    sr_count: int
    generations: int
    leadership: str = ""


@dataclass(frozen=True)
class ThresholdGroup:
    ranks: tuple[str, ...]
    min: Decimal
    amount: Decimal


@dataclass(frozen=True)
class ThresholdBonus:
    """A flat amount paid when a volume reaches a threshold that depends on the rank."""

    name: str
    basis: str  # "pv" or "pv_by_cutoff"
    groups: tuple[ThresholdGroup, ...]

    def group_for(self, rank: str) -> ThresholdGroup | None:
        for g in self.groups:
            if rank in g.ranks:
                return g
        return None


@dataclass(frozen=True)
class Override:
    name: str
    rate: Decimal
    generation_rates: tuple[Decimal, ...]
    compression: bool
    accrual: str
    payment_months: tuple[int, ...]

    def rate_for(self, generation: int) -> Decimal:
        """Rate of generation ``generation`` (1-based)."""
        if self.generation_rates:
            return self.generation_rates[generation - 1]
        return self.rate


@dataclass(frozen=True)
class LeadershipBonus:
    code: str
    name: str
    amount: Decimal


@dataclass(frozen=True)
class Titles:
    title_can_drop: bool
    terminated_keeps_title: bool


@dataclass(frozen=True)
class Payout:
    months_after: int
    day: int


@dataclass(frozen=True)
class DsLevel:
    min_pv: Decimal
    min_cumulative_pv: Decimal
    training_waiver: Decimal


@dataclass(frozen=True)
class PcTier:
    min_aro: Decimal
    discount: Decimal


@dataclass(frozen=True)
class Trip:
    code: str
    name: str
    window_start_month: int
    window_months: int
    min_rank: str
    min_months: int
    repeat_requires_promotion: bool = False
    repeat_requires_new_first_level_rank: str = ""
    first_may_span_years: bool = False


@dataclass(frozen=True)
class PoolUnit:
    sr_increase: int
    new_rank: str
    new_rank_count: int
    promotion: bool


@dataclass(frozen=True)
class Pool:
    code: str
    name: str
    currency: str
    pool_amount: Decimal
    unit_amount: Decimal | None
    unit: PoolUnit
    base_month: str
    window_start: str
    window_end: str
    eligibility_rank: str
    payment: str


UPLINE_VISIBILITY = ("none", "summary", "full")


@dataclass(frozen=True)
class StatementPolicy:
    """What a member's upline may see of the member's statement.

    ``none``: nothing; ``summary``: paid-as rank, pv and total; ``full``: every line.
    """

    upline_visibility: str = "summary"


@dataclass(frozen=True)
class PlanHeader:
    code: str
    name: str
    kind: str
    version: int
    currency: str
    period: str


@dataclass(frozen=True)
class RankPlan:
    """A direct-selling rank plan such as the seed's (see shared/spec/seed-plan.md)."""

    source: str
    header: PlanHeader
    volume: VolumeRules
    rounding: Rounding
    sales_bonus: SalesBonus
    ranks: tuple[Rank, ...]  # lowest first
    qualifying_rank: str
    titles: Titles
    morning_star: ThresholdBonus
    open_star: ThresholdBonus
    override: Override
    leadership: tuple[LeadershipBonus, ...]
    payout: Payout
    ds: DsLevel
    pc_tiers: tuple[PcTier, ...] = ()
    trips: tuple[Trip, ...] = ()
    pools: tuple[Pool, ...] = ()
    statements: StatementPolicy = field(default_factory=StatementPolicy)

    @property
    def rank_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.ranks)

    def rank_index(self, code: str) -> int:
        return self.rank_codes.index(code)

    @property
    def qualifying_index(self) -> int:
        return self.rank_index(self.qualifying_rank)

    @property
    def max_generations(self) -> int:
        return max((r.generations for r in self.ranks), default=0)

    def leadership_amount(self, code: str) -> Decimal:
        for lb in self.leadership:
            if lb.code == code:
                return lb.amount
        return Decimal(0)


@dataclass(frozen=True)
class CommissionTier:
    start: Decimal  # attainment (fraction of target) where the band starts
    rate: Decimal


@dataclass(frozen=True)
class Accelerator:
    start: Decimal
    rate: Decimal
    cap: Decimal | None


@dataclass(frozen=True)
class Champion:
    name: str
    basis: str
    award: Decimal
    winners: int
    min_attainment: Decimal


@dataclass(frozen=True)
class CommissionPlan:
    """An employee commission (提成) plan: tiered rate on sales against target."""

    source: str
    header: PlanHeader
    rounding: Rounding
    basis: str  # "receipts" (回款) or "orders"
    method: str  # "marginal" or "flat"
    tiers: tuple[CommissionTier, ...]  # lowest start first
    accelerator: Accelerator | None
    champion: Champion | None = field(default=None)


Plan = RankPlan | CommissionPlan


# ------------------------------------------------------------------------ reading


class _Reader:
    """Typed access to a parsed TOML document that records problems instead of raising."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[PlanIssue] = []

    def err(self, key: str, reason: str) -> None:
        self.issues.append(PlanIssue(self.file, key, reason))

    def table(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> dict[str, Any]:
        full = f"{path}.{key}" if path else key
        if key not in data:
            if required:
                self.err(full, "missing table")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            self.err(full, "must be a table")
            return {}
        return value

    def check_keys(self, data: Mapping[str, Any], path: str, allowed: Iterable[str]) -> None:
        allowed_set = set(allowed)
        for k in data:
            if k not in allowed_set:
                self.err(f"{path}.{k}" if path else k, "unknown key")

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        conv: Callable[[str, Any], T],
        default: Any = _MISSING,
    ) -> T | None:
        full = f"{path}.{key}" if path else key
        if key not in data:
            if default is _MISSING:
                self.err(full, "missing")
                return None
            return default  # type: ignore[no-any-return]
        try:
            return conv(full, data[key])
        except _Bad as exc:
            self.err(full, str(exc))
            return None

    def value(self, v: Any, full: str, conv: Callable[[str, Any], T]) -> T | None:
        """Convert one array element, reporting under its own key (``a.b[2]``)."""
        try:
            return conv(full, v)
        except _Bad as exc:
            self.err(full, str(exc))
            return None

    def array(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> list[Any]:
        full = f"{path}.{key}" if path else key
        if key not in data:
            if required:
                self.err(full, "missing")
            return []
        value = data[key]
        if not isinstance(value, list):
            self.err(full, "must be an array")
            return []
        return value


class _Bad(Exception):
    pass


def _dec(_key: str, v: Any) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, int | Decimal | str):
        raise _Bad(f"must be a number, got {v!r}")
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise _Bad(f"must be a number, got {v!r}") from None
    if not d.is_finite():
        raise _Bad(f"must be a finite number, got {v!r}")
    return d


def _nonneg_dec(key: str, v: Any) -> Decimal:
    d = _dec(key, v)
    if d < 0:
        raise _Bad(f"must be ≥ 0, got {v}")
    return d


def _money(key: str, v: Any) -> Decimal:
    d = _nonneg_dec(key, v)
    if d != d.quantize(Decimal("0.01")):
        raise _Bad(f"an amount has at most two decimals, got {v}")
    return d


def _positive_dec(key: str, v: Any) -> Decimal:
    d = _dec(key, v)
    if d <= 0:
        raise _Bad(f"must be > 0, got {v}")
    return d


def _rate(key: str, v: Any) -> Decimal:
    d = _dec(key, v)
    if not 0 <= d <= 1:
        raise _Bad(f"a rate is between 0 and 1, got {v}")
    return d


def _int_range(lo: int, hi: int) -> Callable[[str, Any], int]:
    def conv(_key: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"must be an integer, got {v!r}")
        if not lo <= v <= hi:
            raise _Bad(f"must be between {lo} and {hi}, got {v}")
        return v

    return conv


def _bool(_key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad(f"must be true or false, got {v!r}")
    return v


def _str(_key: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _Bad(f"must be a string, got {v!r}")
    return v


def _choice(*choices: str) -> Callable[[str, Any], str]:
    def conv(key: str, v: Any) -> str:
        s = _str(key, v)
        if s not in choices:
            raise _Bad(f"must be one of {', '.join(choices)}; got {s!r}")
        return s

    return conv


def _month(key: str, v: Any) -> str:
    s = _str(key, v)
    if not _MONTH_RE.match(s):
        raise _Bad(f"must be a month YYYY-MM, got {s!r}")
    return s


def _code(key: str, v: Any) -> str:
    s = _str(key, v)
    if not _CODE_RE.match(s):
        raise _Bad(f"must be a short code of letters, digits, - or _, got {s!r}")
    return s


def _header(r: _Reader, doc: Mapping[str, Any]) -> tuple[PlanHeader, str]:
    t = r.table(doc, "plan", "")
    r.check_keys(t, "plan", ("code", "name", "kind", "version", "currency", "period"))
    kind = r.get(t, "kind", "plan", _choice("rank", "commission")) or ""
    header = PlanHeader(
        code=r.get(t, "code", "plan", _code) or "",
        name=r.get(t, "name", "plan", _str) or "",
        kind=kind,
        version=r.get(t, "version", "plan", _int_range(1, 10**6), 1) or 1,
        currency=r.get(t, "currency", "plan", _str, "CNY") or "CNY",
        period=r.get(t, "period", "plan", _choice("month"), "month") or "month",
    )
    return header, kind


def _rounding(r: _Reader, doc: Mapping[str, Any]) -> Rounding:
    t = r.table(doc, "rounding", "", required=False)
    r.check_keys(t, "rounding", ("quantum", "mode", "per"))
    quantum = r.get(t, "quantum", "rounding", _dec, Decimal("0.01"))
    if quantum is not None and quantum != Decimal("0.01"):
        r.err("rounding.quantum", f"only 0.01 (the fen) is supported, got {quantum}")
    return Rounding(
        quantum=Decimal("0.01"),
        mode=r.get(t, "mode", "rounding", _choice("half_up"), "half_up") or "half_up",
        per=r.get(t, "per", "rounding", _choice("line"), "line") or "line",
    )


def _rank_plan(r: _Reader, doc: Mapping[str, Any], header: PlanHeader, source: str) -> RankPlan:
    r.check_keys(
        doc,
        "",
        (
            "plan", "volume", "rounding", "sales_bonus", "ranks", "titles", "morning_star",
            "open_star", "override", "leadership", "payout", "ds", "pc", "trips", "pools",
            "statements",
        ),
    )  # fmt: skip
    # volume
    v = r.table(doc, "volume", "")
    r.check_keys(
        v,
        "volume",
        ("aro_counts", "early_cutoff_day", "early_cutoff_inclusive", "bonus_volume_factor",
         "vat_divisor"),
    )  # fmt: skip
    volume = VolumeRules(
        aro_counts=bool(r.get(v, "aro_counts", "volume", _bool, True)),
        early_cutoff_day=r.get(v, "early_cutoff_day", "volume", _int_range(1, 31)) or 20,
        early_cutoff_inclusive=bool(r.get(v, "early_cutoff_inclusive", "volume", _bool, True)),
        bonus_volume_factor=r.get(v, "bonus_volume_factor", "volume", _positive_dec) or Decimal(1),
        vat_divisor=r.get(v, "vat_divisor", "volume", _positive_dec) or Decimal(1),
    )
    rounding = _rounding(r, doc)

    # ranks
    rk = r.table(doc, "ranks", "")
    r.check_keys(rk, "ranks", ("qualifying_rank", "ladder"))
    ranks: list[Rank] = []
    for i, item in enumerate(r.array(rk, "ladder", "ranks")):
        p = f"ranks.ladder[{i}]"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(
            item, p, ("code", "name", "pv", "sr_volume", "sr_count", "generations", "leadership")
        )
        ranks.append(
            Rank(
                code=r.get(item, "code", p, _code) or f"?{i}",
                name=r.get(item, "name", p, _str, "") or "",
                pv=r.get(item, "pv", p, _money) or Decimal(0),
                sr_volume=r.get(item, "sr_volume", p, _money, Decimal(0)) or Decimal(0),
                sr_count=r.get(item, "sr_count", p, _int_range(0, 10**6), 0) or 0,
                generations=r.get(item, "generations", p, _int_range(0, 64), 0) or 0,
                leadership=r.get(item, "leadership", p, _str, "") or "",
            )
        )
    codes = [x.code for x in ranks]
    if "ladder" in rk and not ranks:
        r.err("ranks.ladder", "needs at least one rank")
    for i, code in enumerate(codes):
        if code in codes[:i]:
            r.err(f"ranks.ladder[{i}].code", f"duplicate rank {code!r}")
    for i in range(1, len(ranks)):
        lo, hi = ranks[i - 1], ranks[i]
        for attr in ("pv", "sr_volume", "sr_count", "generations"):
            if getattr(hi, attr) < getattr(lo, attr):
                r.err(
                    f"ranks.ladder[{i}].{attr}",
                    f"a higher rank cannot ask or give less than {lo.code} "
                    f"({getattr(hi, attr)} < {getattr(lo, attr)})",
                )
    qualifying = r.get(rk, "qualifying_rank", "ranks", _str, codes[0] if codes else "") or ""
    if ranks and qualifying not in codes:
        r.err("ranks.qualifying_rank", f"unknown rank {qualifying!r}")
    elif ranks:
        q = ranks[codes.index(qualifying)]
        for i, below in enumerate(ranks[: codes.index(qualifying)]):
            if below.generations:
                # An earner must itself count as qualifying, or compression could skip them.
                r.err(
                    f"ranks.ladder[{i}].generations",
                    f"a rank below the qualifying rank {qualifying} cannot earn an override",
                )
        if q.sr_volume or q.sr_count:
            r.err(
                "ranks.qualifying_rank",
                f"{qualifying} must depend on the member's own pv only "
                "(sr_volume = 0 and sr_count = 0)",
            )

    def rank_ref(key: str, v: Any) -> str:
        s = _str(key, v)
        if ranks and s not in codes:
            raise _Bad(f"unknown rank {s!r}")
        return s

    # sales bonus
    sb = r.table(doc, "sales_bonus", "")
    r.check_keys(sb, "sales_bonus", ("name", "tiers"))
    tiers: list[RateTier] = []
    for i, item in enumerate(r.array(sb, "tiers", "sales_bonus")):
        p = f"sales_bonus.tiers[{i}]"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(item, p, ("min_pv", "rate"))
        tiers.append(
            RateTier(
                min_pv=r.get(item, "min_pv", p, _money) or Decimal(0),
                rate=r.get(item, "rate", p, _rate) or Decimal(0),
            )
        )
    mins = [t.min_pv for t in tiers]
    if len(set(mins)) != len(mins):
        r.err("sales_bonus.tiers", "two tiers have the same min_pv")
    if any(t.min_pv <= 0 for t in tiers):
        r.err("sales_bonus.tiers", "min_pv must be > 0 (no bonus on zero or negative volume)")
    sales_bonus = SalesBonus(
        name=r.get(sb, "name", "sales_bonus", _str, "销售奖金") or "",
        tiers=tuple(sorted(tiers, key=lambda t: t.min_pv, reverse=True)),
    )

    # titles
    tt = r.table(doc, "titles", "", required=False)
    r.check_keys(tt, "titles", ("title_can_drop", "terminated_keeps_title"))
    titles = Titles(
        title_can_drop=bool(r.get(tt, "title_can_drop", "titles", _bool, False)),
        terminated_keeps_title=bool(r.get(tt, "terminated_keeps_title", "titles", _bool, True)),
    )

    def threshold(key: str) -> ThresholdBonus:
        t = r.table(doc, key, "")
        r.check_keys(t, key, ("name", "basis", "groups"))
        groups: list[ThresholdGroup] = []
        seen: set[str] = set()
        for i, item in enumerate(r.array(t, "groups", key)):
            p = f"{key}.groups[{i}]"
            if not isinstance(item, dict):
                r.err(p, "must be a table")
                continue
            r.check_keys(item, p, ("ranks", "min", "amount"))
            rs = [
                r.value(x, f"{p}.ranks[{j}]", rank_ref) or ""
                for j, x in enumerate(r.array(item, "ranks", p))
            ]
            for code in rs:
                if code in seen:
                    r.err(f"{p}.ranks", f"rank {code!r} is in two groups")
                seen.add(code)
            groups.append(
                ThresholdGroup(
                    ranks=tuple(rs),
                    min=r.get(item, "min", p, _money) or Decimal(0),
                    amount=r.get(item, "amount", p, _money) or Decimal(0),
                )
            )
        return ThresholdBonus(
            name=r.get(t, "name", key, _str, key) or key,
            basis=r.get(t, "basis", key, _choice(*VOLUME_BASES)) or "pv",
            groups=tuple(groups),
        )

    morning = threshold("morning_star")
    open_ = threshold("open_star")

    # override
    ov = r.table(doc, "override", "")
    r.check_keys(
        ov, "override",
        ("name", "rate", "generation_rates", "compression", "accrual", "payment_months"),
    )  # fmt: skip
    gen_rates = tuple(
        r.value(x, f"override.generation_rates[{i}]", _rate) or Decimal(0)
        for i, x in enumerate(r.array(ov, "generation_rates", "override", required=False))
    )
    max_gen = max((x.generations for x in ranks), default=0)
    if gen_rates and len(gen_rates) < max_gen:
        r.err(
            "override.generation_rates",
            f"has {len(gen_rates)} rates but a rank pays {max_gen} generations",
        )
    months = [
        r.value(x, f"override.payment_months[{i}]", _int_range(1, 12)) or 0
        for i, x in enumerate(r.array(ov, "payment_months", "override"))
    ]
    if len(set(months)) != len(months):
        r.err("override.payment_months", "a month is listed twice")
    override = Override(
        name=r.get(ov, "name", "override", _str, "季度评估") or "",
        rate=r.get(ov, "rate", "override", _rate) or Decimal(0),
        generation_rates=gen_rates,
        compression=bool(r.get(ov, "compression", "override", _bool)),
        accrual=r.get(ov, "accrual", "override", _choice("monthly"), "monthly") or "monthly",
        payment_months=tuple(sorted(months)),
    )

    # leadership
    ld = r.table(doc, "leadership", "", required=False)
    leadership: list[LeadershipBonus] = []
    for code, item in ld.items():
        p = f"leadership.{code}"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(item, p, ("name", "amount"))
        leadership.append(
            LeadershipBonus(
                code=code,
                name=r.get(item, "name", p, _str, code) or code,
                amount=r.get(item, "amount", p, _money, Decimal(0)) or Decimal(0),
            )
        )
    known_lb = {x.code for x in leadership}
    for i, rank in enumerate(ranks):
        if rank.leadership and rank.leadership not in known_lb:
            r.err(
                f"ranks.ladder[{i}].leadership",
                f"no [leadership.{rank.leadership}] table gives its amount",
            )

    # payout, ds, pc
    po = r.table(doc, "payout", "")
    r.check_keys(po, "payout", ("months_after", "day"))
    payout = Payout(
        months_after=r.get(po, "months_after", "payout", _int_range(0, 24)) or 0,
        day=r.get(po, "day", "payout", _int_range(1, 28)) or 1,
    )
    ds_t = r.table(doc, "ds", "", required=False)
    r.check_keys(ds_t, "ds", ("min_pv", "min_cumulative_pv", "training_waiver"))
    ds = DsLevel(
        min_pv=r.get(ds_t, "min_pv", "ds", _money, Decimal(0)) or Decimal(0),
        min_cumulative_pv=r.get(ds_t, "min_cumulative_pv", "ds", _money, Decimal(0)) or Decimal(0),
        training_waiver=r.get(ds_t, "training_waiver", "ds", _money, Decimal(0)) or Decimal(0),
    )
    pc_t = r.table(doc, "pc", "", required=False)
    r.check_keys(pc_t, "pc", ("tiers",))
    pc: list[PcTier] = []
    for i, item in enumerate(r.array(pc_t, "tiers", "pc", required=False)):
        p = f"pc.tiers[{i}]"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(item, p, ("min_aro", "discount"))
        pc.append(
            PcTier(
                min_aro=r.get(item, "min_aro", p, _money) or Decimal(0),
                discount=r.get(item, "discount", p, _rate) or Decimal(0),
            )
        )

    # trips
    trips: list[Trip] = []
    for i, item in enumerate(r.array(doc, "trips", "", required=False)):
        p = f"trips[{i}]"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(
            item, p,
            ("code", "name", "window_start_month", "window_months", "min_rank", "min_months",
             "repeat_requires_promotion", "repeat_requires_new_first_level_rank",
             "first_may_span_years"),
        )  # fmt: skip
        trips.append(
            Trip(
                code=r.get(item, "code", p, _code) or "",
                name=r.get(item, "name", p, _str, "") or "",
                window_start_month=r.get(item, "window_start_month", p, _int_range(1, 12)) or 1,
                window_months=r.get(item, "window_months", p, _int_range(1, 36), 12) or 12,
                min_rank=r.get(item, "min_rank", p, rank_ref) or "",
                min_months=r.get(item, "min_months", p, _int_range(1, 36)) or 1,
                repeat_requires_promotion=bool(
                    r.get(item, "repeat_requires_promotion", p, _bool, False)
                ),
                repeat_requires_new_first_level_rank=r.get(
                    item, "repeat_requires_new_first_level_rank", p, rank_ref, ""
                )
                or "",
                first_may_span_years=bool(r.get(item, "first_may_span_years", p, _bool, False)),
            )
        )

    # pools
    pools: list[Pool] = []
    for i, item in enumerate(r.array(doc, "pools", "", required=False)):
        p = f"pools[{i}]"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(
            item, p,
            ("code", "name", "currency", "pool_amount", "unit_amount", "unit", "base_month",
             "window_start", "window_end", "eligibility_rank", "payment"),
        )  # fmt: skip
        u = r.table(item, "unit", p)
        up = f"{p}.unit"
        r.check_keys(u, up, ("sr_increase", "new_rank", "new_rank_count", "promotion"))
        pool = Pool(
            code=r.get(item, "code", p, _code) or "",
            name=r.get(item, "name", p, _str, "") or "",
            currency=r.get(item, "currency", p, _str, header.currency) or "",
            pool_amount=r.get(item, "pool_amount", p, _money) or Decimal(0),
            unit_amount=r.get(item, "unit_amount", p, _money, None),
            unit=PoolUnit(
                sr_increase=r.get(u, "sr_increase", up, _int_range(0, 10**9), 0) or 0,
                new_rank=r.get(u, "new_rank", up, rank_ref, "") or "",
                new_rank_count=r.get(u, "new_rank_count", up, _int_range(0, 10**9), 0) or 0,
                promotion=bool(r.get(u, "promotion", up, _bool, False)),
            ),
            base_month=r.get(item, "base_month", p, _month) or "",
            window_start=r.get(item, "window_start", p, _month) or "",
            window_end=r.get(item, "window_end", p, _month) or "",
            eligibility_rank=r.get(item, "eligibility_rank", p, rank_ref) or "",
            payment=r.get(item, "payment", p, _choice("yearly", "monthly"), "yearly") or "",
        )
        if pool.window_start and pool.window_end and pool.window_end < pool.window_start:
            r.err(f"{p}.window_end", "is before window_start")
        pools.append(pool)

    # statements
    st = r.table(doc, "statements", "", required=False)
    r.check_keys(st, "statements", ("upline_visibility",))
    statements = StatementPolicy(
        upline_visibility=r.get(
            st, "upline_visibility", "statements", _choice(*UPLINE_VISIBILITY), "summary"
        )
        or "summary",
    )

    return RankPlan(
        source=source,
        header=header,
        volume=volume,
        rounding=rounding,
        sales_bonus=sales_bonus,
        ranks=tuple(ranks),
        qualifying_rank=qualifying,
        titles=titles,
        morning_star=morning,
        open_star=open_,
        override=override,
        leadership=tuple(leadership),
        payout=payout,
        ds=ds,
        pc_tiers=tuple(pc),
        trips=tuple(trips),
        pools=tuple(pools),
        statements=statements,
    )


def _commission_plan(
    r: _Reader, doc: Mapping[str, Any], header: PlanHeader, source: str
) -> CommissionPlan:
    r.check_keys(doc, "", ("plan", "rounding", "commission", "champion"))
    rounding = _rounding(r, doc)
    c = r.table(doc, "commission", "")
    r.check_keys(c, "commission", ("basis", "method", "tiers", "accelerator"))
    tiers: list[CommissionTier] = []
    for i, item in enumerate(r.array(c, "tiers", "commission")):
        p = f"commission.tiers[{i}]"
        if not isinstance(item, dict):
            r.err(p, "must be a table")
            continue
        r.check_keys(item, p, ("from", "rate"))
        tiers.append(
            CommissionTier(
                start=r.get(item, "from", p, _nonneg_dec) or Decimal(0),
                rate=r.get(item, "rate", p, _rate) or Decimal(0),
            )
        )
    if "tiers" in c and not tiers:
        r.err("commission.tiers", "needs at least one tier")
    starts = [t.start for t in tiers]
    if starts != sorted(set(starts)):
        r.err("commission.tiers", "tiers must be listed by increasing `from`, each once")
    if tiers and tiers[0].start != 0:
        r.err("commission.tiers[0].from", "the first tier must start at 0")
    acc: Accelerator | None = None
    if "accelerator" in c:
        a = r.table(c, "accelerator", "commission")
        ap = "commission.accelerator"
        r.check_keys(a, ap, ("from", "rate", "cap"))
        acc = Accelerator(
            start=r.get(a, "from", ap, _nonneg_dec) or Decimal(1),
            rate=r.get(a, "rate", ap, _rate) or Decimal(0),
            cap=r.get(a, "cap", ap, _positive_dec, None),
        )
        if tiers and acc.start <= tiers[-1].start:
            r.err(f"{ap}.from", "must be above the last tier's `from`")
        if acc.cap is not None and acc.cap <= acc.start:
            r.err(f"{ap}.cap", "must be above `from`")
    champ: Champion | None = None
    if "champion" in doc:
        ch = r.table(doc, "champion", "")
        r.check_keys(ch, "champion", ("name", "basis", "award", "winners", "min_attainment"))
        champ = Champion(
            name=r.get(ch, "name", "champion", _str, "年度销售冠军") or "",
            basis=r.get(ch, "basis", "champion", _choice("receipts", "orders"), "receipts") or "",
            award=r.get(ch, "award", "champion", _money) or Decimal(0),
            winners=r.get(ch, "winners", "champion", _int_range(1, 1000), 1) or 1,
            min_attainment=r.get(ch, "min_attainment", "champion", _nonneg_dec, Decimal(0))
            or Decimal(0),
        )
    return CommissionPlan(
        source=source,
        header=header,
        rounding=rounding,
        basis=r.get(c, "basis", "commission", _choice("receipts", "orders")) or "receipts",
        method=r.get(c, "method", "commission", _choice("marginal", "flat"), "marginal")
        or "marginal",
        tiers=tuple(tiers),
        accelerator=acc,
        champion=champ,
    )


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Parse and validate plan text; raise :class:`PlanError` listing every problem."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError([PlanIssue(source, "(syntax)", str(exc))]) from None
    r = _Reader(source)
    header, kind = _header(r, doc)
    plan: Plan | None = None
    if kind == "rank":
        plan = _rank_plan(r, doc, header, source)
    elif kind == "commission":
        plan = _commission_plan(r, doc, header, source)
    if r.issues or plan is None:
        raise PlanError(r.issues)
    return plan


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([PlanIssue(str(path), "(file)", f"cannot read: {exc}")]) from None
    return parse_plan(text, str(path))


def load_rank_plan(path: str | Path) -> RankPlan:
    plan = load_plan(path)
    if not isinstance(plan, RankPlan):
        raise PlanError([PlanIssue(str(path), "plan.kind", "a rank plan is needed here")])
    return plan


def load_commission_plan(path: str | Path) -> CommissionPlan:
    plan = load_plan(path)
    if not isinstance(plan, CommissionPlan):
        raise PlanError([PlanIssue(str(path), "plan.kind", "a commission plan is needed here")])
    return plan
