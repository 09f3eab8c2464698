"""查重: one duplicate check across customers, the public pool, leads and contacts.

Sales answers for its customers (in the pool or owned); a module above it (the CRM's leads
and contacts) adds its own finder with ``register_duplicate_finder``, so a customer created
here is checked against leads too without sales importing the CRM.

A match the viewer may not open says only who holds it ("已存在：由 张三（华东一部）负责")
or that it is in a pool ("在公海中，可领取") — never the record's id or fields. Every
criterion is an equality on an indexed key (``sales.keys``), bounded: a check is a few
index lookups whatever the table size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.sales.keys import company_key, email_key, phone_key
from salesops.sales.models import Customer

# A name shorter than this after normalising is a person's name (张伟), which many
# different customers share: it is no criterion. Company names are longer.
NAME_KEY_MIN = 4
# Matches per criterion; more would say the criterion does not discriminate (Odoo's 21).
LIMIT = 10


@dataclass(frozen=True)
class Keys:
    name: str
    phone: str
    email: str

    @classmethod
    def of(cls, *, name: str = "", phone: str = "", email: str = "") -> Keys:
        key = company_key(name)
        return cls(
            name=key if len(key) >= NAME_KEY_MIN else "",
            phone=phone_key(phone) if len(phone_key(phone)) >= 7 else "",
            email=email_key(email) if "@" in email else "",
        )

    def __bool__(self) -> bool:
        return bool(self.name or self.phone or self.email)


@dataclass(frozen=True)
class Match:
    kind: str  # customer | pool | lead | contact
    id: int | None  # None where the viewer may not open the record
    label: str  # the record's name, "" where not visible
    owner: str
    department: str
    in_pool: bool
    visible: bool
    on: str  # which criterion matched: name | phone | email

    @property
    def message(self) -> str:
        if self.in_pool:
            return _("在公海中，可领取")
        if self.visible:
            return _("已存在：%(label)s（负责人 %(owner)s）") % {
                "label": self.label,
                "owner": self.owner or "-",
            }
        return _("已存在：由 %(owner)s（%(dept)s）负责") % {
            "owner": self.owner or "-",
            "dept": self.department or "-",
        }


Finder = Callable[[Viewer | None, Keys], list[Match]]
_FINDERS: list[Finder] = []


def register_duplicate_finder(finder: Finder) -> None:
    """Add a module's own records to every 查重 (called from its ``AppConfig.ready``)."""
    if finder not in _FINDERS:
        _FINDERS.append(finder)


def customer_match(viewer: Viewer | None, customer: Customer, on: str) -> Match:
    """A customer as a match for this viewer: its id and name only if they may open it."""
    from salesops.sales.selectors import customers_for

    visible = viewer is not None and customers_for(viewer).filter(pk=customer.pk).exists()
    in_pool = customer.owner_id is None
    return Match(
        kind="pool" if in_pool else "customer",
        id=customer.pk if visible or in_pool else None,
        label=customer.name if visible or in_pool else "",
        owner=customer.owner.name if customer.owner else "",
        department=customer.department.name if customer.department_id else "",
        in_pool=in_pool,
        visible=visible,
        on=on,
    )


def _customers(viewer: Viewer | None, keys: Keys) -> list[Match]:
    out: list[Match] = []
    for on, q in (("name", Q(name_key=keys.name)), ("phone", Q(phone_key=keys.phone))):
        if not getattr(keys, on):
            continue
        rows = Customer.objects.filter(q).select_related("owner", "department")
        out += [customer_match(viewer, c, on) for c in rows.order_by("pk")[:LIMIT]]
    return out


def find_duplicates(
    viewer: Viewer | None,
    *,
    name: str = "",
    phone: str = "",
    email: str = "",
    exclude: Callable[[Match], bool] | None = None,
) -> list[Match]:
    """Every record the name, phone or e-mail matches, customers first, each once."""
    keys = Keys.of(name=name, phone=phone, email=email)
    if not keys:
        return []
    found: dict[tuple[str, int | None, str, str], Match] = {}
    for finder in (_customers, *_FINDERS):
        for m in finder(viewer, keys):
            if exclude is not None and exclude(m):
                continue
            key = (m.kind, m.id, m.owner, m.label)
            found.setdefault(key, m)
    return list(found.values())


# ---------------------------------------------------------------------------
# the same 查重 for a file: whole columns of keys at once
# ---------------------------------------------------------------------------

# (criterion, normalised keys) → key → who holds it, for every key some record holds
KeyFinder = Callable[[str, list[str]], dict[str, str]]
_KEY_FINDERS: list[KeyFinder] = []
_KEY_BATCH = 900  # values per IN (…): under every database's parameter limit


def register_key_finder(finder: KeyFinder) -> None:
    """Add a module's own records to the 查重 of imports (``held_keys``)."""
    if finder not in _KEY_FINDERS:
        _KEY_FINDERS.append(finder)


def holder_text(owner: str, department: str, *, in_pool: bool = False) -> str:
    """Who holds a match, naming no record: what a file's row may be told whoever
    imports it."""
    if in_pool:
        return _("在公海中，可领取")
    return _("已存在：由 %(owner)s（%(dept)s）负责") % {
        "owner": owner or "-",
        "dept": department or "-",
    }


def key_batches(keys: list[str]) -> list[list[str]]:
    return [keys[i : i + _KEY_BATCH] for i in range(0, len(keys), _KEY_BATCH)]


def _customer_keys(on: str, keys: list[str]) -> dict[str, str]:
    field = {"name": "name_key", "phone": "phone_key"}.get(on)
    if field is None:
        return {}
    out: dict[str, str] = {}
    for batch in key_batches(keys):
        rows = (
            Customer.objects.filter(**{f"{field}__in": batch})
            .order_by("pk")
            .values_list(field, "owner_id", "owner__name", "department__name")
        )
        for key, owner_id, owner, dept in rows:
            out.setdefault(key, holder_text(owner, dept, in_pool=owner_id is None))
    return out


def held_keys(on: str, keys: set[str]) -> dict[str, str]:
    """查重 for an import: which of ``keys`` (normalised by ``Keys.of``; criterion ``on``:
    name | phone | email) a customer, a pool customer, a lead or a contact already holds,
    and who holds each — a query per finder and 900 keys, whatever the file's size."""
    wanted = sorted(k for k in keys if k)
    out: dict[str, str] = {}
    for finder in (_customer_keys, *_KEY_FINDERS):
        for key, who in finder(on, wanted).items():
            out.setdefault(key, who)
    return out
