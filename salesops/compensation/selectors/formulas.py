"""Statement lines in the reader's language.

A run stores each line's formula as text (in Chinese, for the CLI, the API and audit) and
the numbers it was computed from as ``inputs``. Pages and PDFs render the formula again
from the rule and those inputs with the catalogue of the reader's language; a line whose
inputs do not carry what its formula needs (written by an older version) shows the stored
text. Bonus names come from the plan file: the shipped plan's names are in the catalogue
(``SHIPPED_NAMES``), any other name is shown as the plan wrote it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from salesops.compensation.engine import explain as ex
from salesops.compensation.models import CommissionLine
from salesops.org.models import rank_label

# The bonus, trip and pool names of plans/seed-rank-plan.toml, so makemessages puts them in
# the catalogue (a plan of the company's own shows its names as written).
SHIPPED_NAMES = (
    gettext_noop("销售奖金"),
    gettext_noop("晨星奖"),
    gettext_noop("开星奖"),
    gettext_noop("季度评估"),
    gettext_noop("BB 领导奖"),
    gettext_noop("BBB 领导奖"),
    gettext_noop("调整"),
    gettext_noop("创星学院"),
    gettext_noop("登峰海外游"),
    gettext_noop("寰宇领袖之旅"),
    gettext_noop("百星登峰领导奖 100+1"),
    gettext_noop("百星登峰领导奖 400+4"),
)


def bonus_name(name: str) -> str:
    """A plan's bonus name in the reader's language when the catalogue has it."""
    return _(name) if name else name


def _pct(raw: Any) -> str:
    return ex.pct(Decimal(str(raw)))


def _signed(raw: Any) -> str:
    """Two decimals with a real minus sign, as the adjustment formulas print them."""
    text = f"{Decimal(str(raw)):.2f}"
    return "−" + text[1:] if text.startswith("-") else text


def _render(line: CommissionLine) -> str:
    raw = line.inputs
    if not isinstance(raw, dict):
        raise TypeError(type(raw))
    i: dict[str, Any] = raw
    amount = ex.money(line.amount)
    if line.rule == ex.RULE_SALES:
        return _(
            "个人业绩 %(pv)s ≥ %(min_pv)s → %(rate)s × %(pv)s × %(factor)s ÷ %(divisor)s "
            "= %(amount)s"
        ) % {
            "pv": i["pv"],
            "min_pv": i["min_pv"],
            "rate": _pct(i["rate"]),
            "factor": i["bonus_volume_factor"],
            "divisor": i["vat_divisor"],
            "amount": amount,
        }
    if line.rule in (ex.RULE_MORNING, ex.RULE_OPEN):
        values = {"min": i["min"], "rank": rank_label(i["paid_as"]), "amount": amount}
        if "pv_by_cutoff" in i:
            return _("%(day)s号前业绩 %(volume)s ≥ %(min)s（%(rank)s）→ %(amount)s") % {
                **values,
                "day": i["cutoff_day"],
                "volume": i["pv_by_cutoff"],
            }
        return _("个人业绩 %(volume)s ≥ %(min)s（%(rank)s）→ %(amount)s") % {
            **values,
            "volume": i["pv"],
        }
    if line.rule == ex.RULE_OVERRIDE:
        return _("第%(generation)s代 %(source)s 个人业绩 %(pv)s × %(rate)s = %(amount)s") % {
            "generation": i["generation"],
            "source": i["source"],
            "pv": i["pv"],
            "rate": _pct(i["rate"]),
            "amount": amount,
        }
    if line.rule == ex.RULE_LEADERSHIP:
        return _("%(name)s（%(rank)s）→ %(amount)s") % {
            "name": bonus_name(line.name),
            "rank": rank_label(i["paid_as"]),
            "amount": amount,
        }
    if line.rule == ex.RULE_ADJUSTMENT:
        values = {
            "month": i["period"],
            "new": _signed(i["recomputed"]),
            "old": _signed(i["closed"]),
            "diff": _signed(line.amount),
        }
        if Decimal(str(i.get("adjusted_before") or 0)):
            return _("%(month)s 重算 %(new)s − (原结算 %(old)s + 已调整 %(posted)s) = %(diff)s") % {
                **values,
                "posted": _signed(i["adjusted_before"]),
            }
        return _("%(month)s 重算 %(new)s − 原结算 %(old)s = %(diff)s") % values
    raise KeyError(line.rule)


def line_formula(line: CommissionLine) -> str:
    """The line's formula in the active language (the stored text when its inputs are
    incomplete or its rule is not one of ours)."""
    try:
        return _render(line)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return line.formula
