from __future__ import annotations

from decimal import Decimal

from django import template

from salesops.core.money import format_money

register = template.Library()


@register.filter
def money(value: Decimal | int | None) -> str:
    """¥1,234.56"""
    return format_money(value)
