"""The display layer: how numbers, rates and times read on every page and in every export.

One place decides each form, so a page, a list column, an audit row and an .xlsx cell show
the same value the same way: money ¥1,234,567.89 (``core.money.format_money``), counts and
plan numbers with thousands separators (105,038; 240,000), rates as 20%, dates 2026-10-05 and
times 2026-10-05 14:30 in the installation's time zone (``settings.TIME_ZONE``). The API keeps
ISO 8601 with an offset: that form is for machines.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from salesops.core.money import format_money

__all__ = [
    "describe_user_agent",
    "export_value",
    "format_count",
    "format_date",
    "format_datetime",
    "format_money",
    "format_number",
    "format_rate",
    "parse_stored_datetime",
]

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


def format_count(value: int | None) -> str:
    """105038 → ``105,038``."""
    if value is None:
        return ""
    return f"{int(value):,}"


def _decimal(value: Decimal | int | float | str) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def format_number(value: Decimal | int | float | str | None) -> str:
    """A plan number as written, with separators: 240000 → ``240,000``, 0.90 → ``0.9``."""
    if value is None or value == "":
        return ""
    try:
        d = _decimal(value)
    except InvalidOperation:
        return str(value)
    if not d.is_finite():
        return str(value)
    d = d.normalize()
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d:,f}"


def format_rate(value: Decimal | int | float | str | None) -> str:
    """A rate kept as a fraction, shown in per cent: 0.20 → ``20%``, 0.125 → ``12.5%``.

    The same form in Chinese and English (no space before %), as finance writes it."""
    if value is None or value == "":
        return ""
    try:
        d = _decimal(value)
    except InvalidOperation:
        return str(value)
    return f"{format_number(d * 100)}%"


def _local(value: datetime.datetime) -> datetime.datetime:
    if timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def format_datetime(value: datetime.datetime | None) -> str:
    """2026-10-05 14:30 in the installation's time zone (minutes, no offset)."""
    if value is None:
        return ""
    return _local(value).strftime(DATETIME_FORMAT)


def format_date(value: datetime.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = _local(value).date()
    return value.strftime(DATE_FORMAT)


def parse_stored_datetime(text: str) -> datetime.datetime | None:
    """A datetime as ``str()`` wrote it into a text column (``2026-10-05 06:30:00.1+00:00``)."""
    try:
        return datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def export_value(value: object) -> object:
    """A value as an .xlsx/CSV cell: aware datetimes become local naive ones to the second
    (a spreadsheet has no time zone, and people read the installation's clock); everything
    else as it is."""
    if isinstance(value, datetime.datetime):
        return _local(value).replace(tzinfo=None, microsecond=0)
    return value


# Browser families in the order a user agent must be tested: Edge and Opera also say
# "Chrome", Chrome also says "Safari", WeChat's built-in browser says all of them.
_BROWSERS = (
    ("MicroMessenger/", "微信"),
    ("EdgA?/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("(?:Headless)?Chrome/", "Chrome"),
    ("Version/[0-9.]+ (?:Mobile/\\S+ )?Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone|iPad", "iOS"),
    ("Android", "Android"),
    ("Mac OS X|Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str | None) -> str:
    """ "Chrome 156 · Linux" for a browser's User-Agent header; a client that is not a known
    browser (curl, a script) keeps the header's first word ("python-requests/2.32"); "" for none.
    """
    text = (user_agent or "").strip()
    if not text:
        return ""
    browser = ""
    for pattern, name in _BROWSERS:
        match = re.search(f"(?:{pattern})([0-9]+)?", text)
        if match:
            version = re.search(r"/([0-9]+)", match.group(0))
            browser = f"{name} {version.group(1)}" if version else name
            break
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, text)), "")
    if not browser:
        return text.split()[0][:60]
    return f"{browser} · {system}" if system else browser
