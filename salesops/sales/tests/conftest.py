"""Sales fixtures: a priced catalogue on top of the stock people."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from salesops.factories import ProductFactory
from salesops.sales.models import PriceList, PriceListItem, Product

DAY = datetime.date(2026, 10, 5)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """The stock users' passwords are hashed once each; PBKDF2 would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalogue(db: None) -> list[Product]:
    """Two products on a price list valid through 2026."""
    pl = PriceList.objects.create(
        name="2026价目表",
        valid_from=datetime.date(2026, 1, 1),
        valid_to=datetime.date(2026, 12, 31),
    )
    a = ProductFactory(sku="P-A", name="营养素")
    b = ProductFactory(sku="P-B", name="护肤套装")
    PriceListItem.objects.create(
        price_list=pl,
        product=a,
        list_price=Decimal("100.00"),
        member_price=Decimal("80.00"),
        pc_price=Decimal("90.00"),
    )
    PriceListItem.objects.create(
        price_list=pl,
        product=b,
        list_price=Decimal("33.33"),
        member_price=Decimal("25.00"),
        pc_price=Decimal("30.00"),
    )
    return [a, b]
