"""``{% load statement_lines %}``: a statement line's formula and bonus name in the reader's
language (``{{ line|formula }}``, ``{{ line.name|bonus_name }}``)."""

from __future__ import annotations

from django import template

from salesops.compensation.models import CommissionLine
from salesops.compensation.selectors import formulas

register = template.Library()


@register.filter
def formula(line: CommissionLine) -> str:
    return formulas.line_formula(line)


@register.filter
def bonus_name(name: str) -> str:
    return formulas.bonus_name(name)
