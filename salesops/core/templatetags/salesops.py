"""The display layer's template filters (``{% load salesops %}``): each is one helper of
``core.display``, so templates, list columns and exports print a value the same way."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import template

from salesops.core import display

register = template.Library()


@register.filter
def money(value: Decimal | int | None) -> str:
    """¥1,234.56"""
    return display.format_money(value)


@register.filter
def count(value: int | None) -> str:
    """105,038"""
    return display.format_count(value)


@register.filter
def number(value: Decimal | int | str | None) -> str:
    """A plan number with separators: 240,000; 0.9."""
    return display.format_number(value)


@register.filter
def rate(value: Decimal | int | str | None) -> str:
    """A fraction as a percentage: 0.20 → 20%."""
    return display.format_rate(value)


@register.filter
def localtime_text(value: datetime.datetime | None) -> str:
    """2026-10-05 14:30 in the installation's time zone."""
    return display.format_datetime(value)


@register.filter
def user_agent(value: str | None) -> str:
    """A User-Agent header as "Chrome 156 · Linux" (``core.display.describe_user_agent``)."""
    return display.describe_user_agent(value)
