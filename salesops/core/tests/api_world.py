"""The data both API fuzz tests run against: a priced product, a customer with an order,
three members and a pending sponsor change (so real ids exist for every path)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salesops.core.approvals.services import StepSpec, approval_flow_create
from salesops.core.models import RoleCode
from salesops.factories import CustomerFactory, MemberFactory, ProductFactory
from salesops.org.models import Member, SponsorChangeRequest
from salesops.org.services.sponsor_changes import sponsor_change_request_submit
from salesops.sales.models import Customer, Order, PriceList, PriceListItem
from salesops.sales.services.orders import order_create

DAY = datetime.date(2026, 10, 5)


@dataclass
class ApiData:
    customer: Customer
    order: Order
    member: Member
    sponsor: Member
    change: SponsorChangeRequest


def api_data(stock: Any) -> ApiData:
    price_list = PriceList.objects.create(
        name="2026价目表", valid_from=datetime.date(2026, 1, 1), valid_to=None
    )
    product = ProductFactory(sku="P-A", name="营养素")
    PriceListItem.objects.create(
        price_list=price_list,
        product=product,
        list_price=Decimal("100.00"),
        member_price=Decimal("80.00"),
        pc_price=Decimal("90.00"),
    )
    customer = CustomerFactory(owner=stock.rep, name="甲客户")
    order = order_create(
        actor=None,
        order_date=DAY,
        customer=customer,
        lines=[{"product": product, "quantity": Decimal("3")}],
    )
    top = MemberFactory(member_no="M-TOP", owner=stock.rep, joined_on=datetime.date(2025, 1, 1))
    other = MemberFactory(member_no="M-OTH", owner=stock.rep, joined_on=datetime.date(2025, 1, 1))
    member = MemberFactory(
        member_no="M-LEAF", owner=stock.rep, sponsor=top, joined_on=datetime.date(2025, 1, 1)
    )
    approval_flow_create(
        actor=None,
        doc_type="org.sponsor_change",
        name="推荐人变更审批",
        steps=[StepSpec(name="管理员审批", role=RoleCode.ADMIN)],
    )
    change = sponsor_change_request_submit(
        actor=stock.rep_user, member=member, new_sponsor=other, effective_on=DAY, reason="调整"
    )
    return ApiData(customer=customer, order=order, member=member, sponsor=other, change=change)
