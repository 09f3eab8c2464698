"""回访规则 through the pages: an admin adds, changes and switches off the rules, and the
scheduled job (``crm.visit_schedule``, called with a frozen ``now``) plans by the rules as
saved; bad input comes back with the input kept; every change is audited; admins only."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from salesops.core.models import AuditLog, RoleCode
from salesops.crm.models import ReturnVisit, VisitRule
from salesops.crm.services.visits import visit_schedule
from salesops.factories import CustomerFactory, UserFactory, role
from salesops.sales.models import Contract, ContractStatus

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 12, 1, 10, 0))
TODAY = timezone.localdate(NOW)


@pytest.fixture
def admin(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(username="adam", role=role(RoleCode.ADMIN))


@pytest.fixture
def rules(db: None) -> tuple[VisitRule, VisitRule]:
    VisitRule.objects.all().delete()  # a flushed database may lack the migration's rows
    return (
        VisitRule.objects.create(name="合同开始后7天回访", source="contract", days=7),
        VisitRule.objects.create(name="合同开始后30天回访", source="contract", days=30),
    )


def _contract(stock, no: str, started_days_ago: int) -> Contract:  # type: ignore[no-untyped-def]
    start = TODAY - datetime.timedelta(days=started_days_ago)
    return Contract.objects.create(
        contract_no=no,
        name="年度服务合同",
        customer=CustomerFactory(owner=stock.rep, department=stock.team),
        owner=stock.rep,
        department=stock.team,
        amount=Decimal("10000"),
        start_on=start,
        end_on=start + datetime.timedelta(days=365),
        status=ContractStatus.SIGNED,
    )


def _planned() -> set[tuple[str, str, datetime.date, str]]:
    return set(ReturnVisit.objects.values_list("rule__name", "source_key", "due_on", "form"))


def test_admin_adds_changes_and_switches_off_rules_and_the_job_follows(
    stock, admin, rules, client: Client
) -> None:
    seven, thirty = rules
    c12 = _contract(stock, "HT-12", 12)
    client.force_login(admin)
    assert client.get("/crm/visit-rules/").status_code == 200

    # Nothing is due 12 days after a start under 7 (already past, planned) and 30 days.
    visit_schedule(NOW)
    assert _planned() == {
        ("合同开始后7天回访", "contract:HT-12", c12.start_on + datetime.timedelta(days=7), "phone")
    }

    # The 30-day rule becomes 12 days by WeChat: the job plans it today.
    resp = client.post(
        f"/crm/visit-rules/{thirty.pk}/",
        {
            "name": "合同开始后12天回访",
            "source": "contract",
            "days": "12",
            "form": "wechat",
            "active": "on",
        },
    )
    assert resp.status_code == 302
    assert visit_schedule(NOW).created == 1
    assert ("合同开始后12天回访", "contract:HT-12", TODAY, "wechat") in _planned()

    # A new rule on orders; then the 7-day rule is switched off: a new contract gets none.
    resp = client.post(
        "/crm/visit-rules/new/",
        {"name": "下单后3天回访", "source": "order", "days": "3", "form": "onsite", "active": "on"},
    )
    assert resp.status_code == 302
    added = VisitRule.objects.get(name="下单后3天回访")
    assert (added.source, added.days, added.form, added.active) == ("order", 3, "onsite", True)
    assert client.post(f"/crm/visit-rules/{seven.pk}/active/", {"active": "0"}).status_code == 302
    assert VisitRule.objects.get(pk=seven.pk).active is False
    page = client.get("/crm/visit-rules/").content.decode()
    assert "已停用 合同开始后7天回访" in page
    _contract(stock, "HT-7", 7)
    assert visit_schedule(NOW).created == 0
    assert not ReturnVisit.objects.filter(source_key="contract:HT-7").exists()
    client.post(f"/crm/visit-rules/{seven.pk}/active/", {"active": "1"})
    assert visit_schedule(NOW).created == 1
    assert ReturnVisit.objects.get(source_key="contract:HT-7").rule_id == seven.pk

    log = AuditLog.objects.filter(object_type="crm.visitrule", actor=admin)
    assert set(log.filter(object_id=str(thirty.pk)).values_list("field", "before", "after")) == {
        ("name", "合同开始后30天回访", "合同开始后12天回访"),
        ("days", "30", "12"),
        ("form", "phone", "wechat"),
    }
    assert set(
        log.filter(object_id=str(seven.pk)).values_list("field", "before", "after", "note")
    ) == {("active", "True", "False", "停用规则"), ("active", "False", "True", "启用规则")}
    assert log.filter(object_id=str(added.pk), action="create", field="days", after="3").exists()


def test_invalid_rules_come_back_with_the_input_kept(stock, admin, rules, client: Client) -> None:
    seven, _thirty = rules
    client.force_login(admin)
    before = (AuditLog.objects.count(), VisitRule.objects.count())
    cases = [
        ({"name": "太久", "days": "4000"}, "间隔天数应在 1 到 3650 之间", 'value="4000"'),
        ({"name": "零天", "days": "0"}, "间隔天数应在 1 到 3650 之间", 'value="0"'),
        (
            {"name": "又一条七天", "days": "7"},
            "已有同样依据和天数的回访规则“合同开始后7天回访”",
            'value="又一条七天"',
        ),
        ({"name": "", "days": "9"}, "请填写规则名称", 'value="9"'),
        ({"name": "七天", "days": "七"}, "请输入整数", 'value="七"'),
    ]
    for values, message, kept in cases:
        data = {"source": "contract", "form": "phone", "active": "on", **values}
        resp = client.post("/crm/visit-rules/new/", data)
        page = resp.content.decode()
        assert resp.status_code == 200 and message in page and kept in page, values
    resp = client.post(
        f"/crm/visit-rules/{seven.pk}/",
        {"name": "七天", "source": "contract", "days": "30", "form": "phone"},
    )
    assert "已有同样依据和天数的回访规则" in resp.content.decode()
    assert (AuditLog.objects.count(), VisitRule.objects.count()) == before
    assert VisitRule.objects.get(pk=seven.pk).days == 7


def test_only_admins_keep_the_rules(stock, rules, client: Client) -> None:
    seven, _thirty = rules
    for user in (stock.manager_user, stock.rep_user):
        client.force_login(user)
        assert client.get("/crm/visit-rules/").status_code == 403
        assert client.get(f"/crm/visit-rules/{seven.pk}/").status_code == 403
        resp = client.post(f"/crm/visit-rules/{seven.pk}/active/", {"active": "0"})
        assert resp.status_code == 403
    assert VisitRule.objects.get(pk=seven.pk).active is True
