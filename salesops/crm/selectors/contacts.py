"""The one 查重 (``sales.dedupe``) for a contact's phone and e-mail, at its create and its
change: the service refuses on these matches, the form lists them."""

from __future__ import annotations

from salesops.core.access import Viewer
from salesops.crm.models import Contact
from salesops.sales.dedupe import Match, find_duplicates
from salesops.sales.keys import email_key, phone_key
from salesops.sales.models import Customer


def contact_duplicates(
    viewer: Viewer | None,
    *,
    customer: Customer,
    phone: str,
    email: str,
    contact: Contact | None = None,
) -> list[Match]:
    """What the phone or e-mail matches across customers, the pool, leads and contacts,
    scoped like every 查重 (a hidden match names only its owner and department).

    On a change (``contact``) only a phone or e-mail that changed is looked up: the stored
    one is the contact's own and would find the contact itself (a contact's match is named
    by its customer, so it cannot be told apart from the customer's other contacts). The
    contact's own customer is no duplicate: a contact often has the company's number."""
    if contact is not None:
        if phone_key(phone) == contact.phone_key:
            phone = ""
        if email_key(email) == contact.email_key:
            email = ""
    if not phone and not email:
        return []
    return find_duplicates(
        viewer,
        phone=phone,
        email=email,
        exclude=lambda m: m.kind in ("customer", "pool") and m.id == customer.pk,
    )
