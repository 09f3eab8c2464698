"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from salesops.core.models import Role, RoleCode, User
from salesops.core.roles import ensure_default_roles
from salesops.org.models import Department, DepartmentKind, Employee, Member, Position
from salesops.sales.models import Customer, PriceList, PriceListItem, Product


def role(code: str) -> Role:
    """The stock role with its default scope and rights."""
    return ensure_default_roles()[code]


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username)
    password = factory.django.Password("pw-for-tests")
    role = factory.LazyFunction(lambda: role(RoleCode.REP))


class DepartmentFactory(factory.django.DjangoModelFactory[Department]):
    """Creates through the service so that the path is right."""

    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"部门{n}")
    code = factory.Sequence(lambda n: f"D{n:04d}")
    kind = DepartmentKind.TEAM
    parent = None

    @classmethod
    def _create(cls, model_class: type[Department], *args: object, **kwargs: object) -> Department:
        from salesops.org.services.departments import department_create

        return department_create(actor=None, **kwargs)  # type: ignore[arg-type]


class PositionFactory(factory.django.DjangoModelFactory[Position]):
    class Meta:
        model = Position
        django_get_or_create = ("code",)

    name = "销售代表"
    code = "P-REP"


class EmployeeFactory(factory.django.DjangoModelFactory[Employee]):
    class Meta:
        model = Employee

    employee_no = factory.Sequence(lambda n: f"E{n:05d}")
    name = factory.Sequence(lambda n: f"员工{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    department = factory.SubFactory(DepartmentFactory)
    manager = None
    user = None

    @classmethod
    def _create(cls, model_class: type[Employee], *args: object, **kwargs: object) -> Employee:
        from salesops.org.services.employees import employee_create

        return employee_create(actor=None, **kwargs)  # type: ignore[arg-type]


class MemberFactory(factory.django.DjangoModelFactory[Member]):
    class Meta:
        model = Member

    member_no = factory.Sequence(lambda n: f"M{n:07d}")
    name = factory.Sequence(lambda n: f"会员{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    sponsor = None
    joined_on = datetime.date(2026, 1, 1)

    @classmethod
    def _create(cls, model_class: type[Member], *args: object, **kwargs: object) -> Member:
        from salesops.org.services.members import member_create

        return member_create(actor=None, **kwargs)  # type: ignore[arg-type]


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    code = factory.Sequence(lambda n: f"C{n:06d}")
    phone = factory.Sequence(lambda n: f"137{n:08d}")
    owner = factory.SubFactory(EmployeeFactory)
    department = factory.LazyAttribute(lambda o: o.owner.department)


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.Sequence(lambda n: f"商品{n}")


PRICE = Decimal("100.00")


def priced_product(
    price: Decimal | str = PRICE,
    *,
    floor: Decimal | str | None = None,
    valid_from: datetime.date | None = None,
    **fields: object,
) -> Product:
    """A product on a price list valid from ``valid_from`` (a year ago by default), at
    ``price`` for every tier, with an optional floor price (最低售价)."""
    product: Product = ProductFactory(**fields)  # type: ignore[assignment]
    start = valid_from or timezone.localdate() - datetime.timedelta(days=365)
    price_list, _created = PriceList.objects.get_or_create(
        name=f"测试价目表 {start}", defaults={"valid_from": start}
    )
    value = Decimal(price)
    PriceListItem.objects.create(
        price_list=price_list,
        product=product,
        list_price=value,
        member_price=value,
        pc_price=value,
        floor_price=None if floor is None else Decimal(floor),
    )
    return product
