"""``{% load ranks %}``: ``{{ code|rank }}`` prints a rank code as ``资深销售总监 SSD``."""

from __future__ import annotations

from django import template

from salesops.org.models import rank_label

register = template.Library()


@register.filter
def rank(code: str | None) -> str:
    return rank_label(code)
