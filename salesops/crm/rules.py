"""The public pool's reclaim rule, stated once for one customer (公海收回规则).

This is the plain statement of the rule: the explained countdown on a customer's page
reads it, and the property test holds the set-based reclaim job (``services.pool``) to it.
It imports no Django model: facts in, an answer out.

A customer goes back to its pool when either rule of its pool (per its level) is due:
- N days without a follow-up: counted from the later of its last follow-up and the day
  the current owner got it (a customer just claimed has the full N days);
- M days without a deal: counted from the day the current owner got it, unless it was won
  since then.
Locked customers never go back; won customers and customers with an open opportunity
don't either when the pool says so."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class PoolRule:
    pool_id: int
    pool_name: str
    days_no_followup: int | None
    days_no_deal: int | None
    skip_won: bool
    skip_open_opportunity: bool
    auto_reclaim: bool = True


@dataclass(frozen=True)
class Facts:
    owner_since: datetime.datetime | None
    last_followup_at: datetime.datetime | None
    locked: bool
    won: bool  # status 成交
    won_at: datetime.datetime | None
    open_opportunity: bool = False


@dataclass(frozen=True)
class Due:
    kind: str  # followup | deal
    at: datetime.datetime  # when the customer goes back
    since: datetime.datetime  # what the days are counted from
    days: int  # the rule's days


def skipped(rule: PoolRule, facts: Facts) -> str:
    """Why the rule does not apply to this customer at all ("" when it does)."""
    if not rule.auto_reclaim:
        return _("%(pool)s未开启自动收回") % {"pool": rule.pool_name}
    if facts.locked:
        return _("已锁定，不会被收回")
    if rule.skip_won and facts.won:
        return _("已成交，不会被收回")
    if rule.skip_open_opportunity and facts.open_opportunity:
        return _("有进行中的商机，不会被收回")
    if facts.owner_since is None:
        return _("没有领取时间，不会被收回")
    return ""


def due(rule: PoolRule, facts: Facts) -> Due | None:
    """The earliest rule that will send the customer back, or None when none applies."""
    if skipped(rule, facts):
        return None
    assert facts.owner_since is not None
    found: list[Due] = []
    if rule.days_no_followup is not None:
        since = max(facts.owner_since, facts.last_followup_at or facts.owner_since)
        at = since + datetime.timedelta(days=rule.days_no_followup)
        found.append(Due("followup", at, since, rule.days_no_followup))
    won_since = facts.won_at is not None and facts.won_at >= facts.owner_since
    if rule.days_no_deal is not None and not won_since:
        at = facts.owner_since + datetime.timedelta(days=rule.days_no_deal)
        found.append(Due("deal", at, facts.owner_since, rule.days_no_deal))
    return min(found, key=lambda d: (d.at, d.kind)) if found else None


def is_due(rule: PoolRule, facts: Facts, now: datetime.datetime) -> bool:
    d = due(rule, facts)
    return d is not None and d.at <= now


def explain(rule: PoolRule, facts: Facts, now: datetime.datetime) -> str:
    """ "未跟进 23 天，规则：30 天未跟进收回，7 天后进入华东公海"."""
    why = skipped(rule, facts)
    if why:
        return why
    d = due(rule, facts)
    if d is None:  # the pool sets no days: nothing to count down
        return ""
    elapsed = max(0, (now - d.since).days)
    left = (d.at - now).total_seconds()
    if d.kind == "followup":
        head = _("未跟进 %(n)d 天，规则：%(days)d 天未跟进收回") % {"n": elapsed, "days": d.days}
    else:
        head = _("领取 %(n)d 天未成交，规则：%(days)d 天未成交收回") % {
            "n": elapsed,
            "days": d.days,
        }
    if left <= 0:
        tail = _("已到期，将在下次收回时进入%(pool)s") % {"pool": rule.pool_name}
    else:
        days_left = int(-(-left // 86400))  # whole days, rounded up
        tail = _("%(n)d 天后进入%(pool)s") % {"n": days_left, "pool": rule.pool_name}
    return f"{head}，{tail}"
