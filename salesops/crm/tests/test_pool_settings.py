"""公海设置 through the pages: an admin creates and edits a pool with its rules per level
and its claim limits, the reclaim job then follows the rules as saved; bad input comes
back with every field's error and the input kept; every change is audited; a pool's own
admin changes its rules only; a pool that holds customers (or has a history) stays."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from salesops.core.models import AuditLog, RoleCode
from salesops.crm.models import Pool, PoolCustomer, PoolLevelRule, PoolMove
from salesops.crm.services.pool import customer_release, pool_claim, pool_reclaim
from salesops.factories import CustomerFactory, UserFactory, role
from salesops.sales.models import Customer

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 12, 1, 10, 0))


def _days(n: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=n)


@pytest.fixture
def admin(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(username="adam", role=role(RoleCode.ADMIN))


@pytest.fixture
def default_pool(db: None) -> Pool:
    # A flushed test database may lack the migration's row.
    pool, _created = Pool.objects.get_or_create(is_default=True, defaults={"name": "公司公海"})
    return pool


def _form(**overrides: Any) -> dict[str, Any]:
    """The pool form as a browser posts it: unticked boxes are absent."""
    data: dict[str, Any] = {
        "name": "华东公海",
        "admin_no": "",
        "departments": [],
        "auto_reclaim": "on",
        "days_no_followup": "",
        "days_no_deal": "",
        "skip_won": "on",
        "skip_open_opportunity": "on",
        "notify_days": "3",
        "max_owned": "",
        "max_locked": "",
        "claims_per_day": "",
        "former_owner_days": "0",
    }
    for level in "ABCD":
        data[f"level_{level}_followup"] = ""
        data[f"level_{level}_deal"] = ""
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_admin_creates_and_edits_a_pool_and_the_reclaim_follows_the_edit(
    stock, admin, default_pool, client: Client
) -> None:
    client.force_login(admin)
    assert client.get("/crm/pool-settings/new/").status_code == 200
    resp = client.post(
        "/crm/pool-settings/new/",
        _form(
            departments=[stock.team.pk],
            admin_no=stock.manager.employee_no,
            days_no_followup="60",
            level_A_followup="90",
            max_owned="50",
            claims_per_day="5",
            former_owner_days="7",
        ),
    )
    assert resp.status_code == 302, resp.content.decode()
    pool = Pool.objects.get(name="华东公海")
    assert list(pool.departments.all()) == [stock.team]
    assert (pool.admin, pool.days_no_followup, pool.days_no_deal) == (stock.manager, 60, None)
    assert (pool.max_owned, pool.claims_per_day, pool.former_owner_days) == (50, 5, 7)
    assert list(
        PoolLevelRule.objects.filter(pool=pool).values_list("level", "days_no_followup")
    ) == [("A", 90)]
    listing = client.get("/crm/pool-settings/").content.decode()
    assert "华东公海" in listing and "60 天未跟进收回" in listing
    assert "A 重点客户：90 天未跟进收回" in listing and "每人每天最多领取 5 个" in listing

    b_level = CustomerFactory(owner=stock.rep, owner_since=_days(40), level="B")
    a_level = CustomerFactory(owner=stock.rep, owner_since=_days(70), level="A")
    assert pool_reclaim(NOW).moved == 0  # 40 < 60 days, 70 < 90 days

    page = client.get(f"/crm/pool-settings/{pool.pk}/").content.decode()
    assert 'value="60"' in page and 'value="90"' in page
    resp = client.post(
        f"/crm/pool-settings/{pool.pk}/",
        _form(
            departments=[stock.team.pk],
            admin_no=stock.manager.employee_no,
            days_no_followup="30",
            level_A_followup="90",
            max_owned="50",
            claims_per_day="5",
            former_owner_days="7",
        ),
    )
    assert resp.status_code == 302
    done = pool_reclaim(NOW)
    assert (done.moved, done.by_pool) == (1, {"华东公海": 1})
    assert Customer.objects.get(pk=b_level.pk).owner is None
    assert Customer.objects.get(pk=a_level.pk).owner == stock.rep  # its level keeps 90 days
    move = PoolMove.objects.get(customer=b_level)
    assert (move.pool, move.rule) == (pool, "30 天未跟进，收回到华东公海")

    # Both saves are on the log: the pool field by field, the level rule as its own row.
    changed = AuditLog.objects.filter(object_type="crm.pool", object_id=str(pool.pk))
    assert set(changed.filter(action="create").values_list("field", "after")) >= {
        ("name", "华东公海"),
        ("days_no_followup", "60"),
        ("admin", str(stock.manager.pk)),
        ("departments", "华东一组"),
    }
    assert list(changed.filter(action="update").values_list("field", "before", "after")) == [
        ("days_no_followup", "60", "30")
    ]
    assert changed.filter(actor=admin).count() == changed.count()
    level = AuditLog.objects.get(object_type="crm.poollevelrule", field="days_no_followup")
    assert (level.action, level.after, level.actor) == ("create", "90", admin)


def test_invalid_input_comes_back_with_each_error_and_the_input_kept(
    stock, admin, default_pool, client: Client
) -> None:
    client.force_login(admin)
    before = AuditLog.objects.count()
    resp = client.post(
        "/crm/pool-settings/new/",
        _form(
            name="",
            days_no_followup="0",
            days_no_deal="99999",
            level_B_deal="-3",
            notify_days="-1",
            max_owned="-5",
            claims_per_day="2000000",
            former_owner_days="4000",
            admin_no="NOPE-1",
        ),
    )
    assert resp.status_code == 200
    page = resp.content.decode()
    for message in (
        "请填写公海名称",
        "工号 NOPE-1 不存在",
        "天数应在 1 到 3650 之间（留空表示不按此规则收回）",
        "天数应在 1 到 3650 之间（留空则使用公海的天数）",
        "提前提醒天数应在 0 到 3650 之间（0 表示不提醒）",
        "上限不能为负数（留空表示不限）",
        "上限不能超过 1000000",
        "前负责人不可领取天数应在 0 到 3650 之间（0 表示不限制）",
    ):
        assert message in page, message
    for field in ("days_no_followup", "days_no_deal", "level_B_deal", "notify_days", "max_owned"):
        assert f'data-field="{field}"' in page, field
    for kept in ('value="0"', 'value="99999"', 'value="-3"', 'value="-5"', 'value="NOPE-1"'):
        assert kept in page, kept
    assert not Pool.objects.filter(is_default=False).exists()
    assert AuditLog.objects.count() == before

    resp = client.post("/crm/pool-settings/new/", _form(days_no_followup="三十"))
    assert resp.status_code == 200 and "请输入整数" in resp.content.decode()
    assert 'value="三十"' in resp.content.decode()


def test_a_department_belongs_to_one_pool_and_one_pool_is_the_default(
    stock, admin, default_pool, client: Client
) -> None:
    east = Pool.objects.create(name="华东公海")
    east.departments.add(stock.team)
    client.force_login(admin)
    resp = client.post(
        "/crm/pool-settings/new/", _form(name="华东二部公海", departments=[stock.team.pk])
    )
    assert "部门 华东一组 已是华东公海的成员部门，一个部门只能属于一个公海" in resp.content.decode()
    form = _form(name=default_pool.name, is_default=None)
    resp = client.post(f"/crm/pool-settings/{default_pool.pk}/", form)
    assert "必须有一个默认公海" in resp.content.decode()
    assert Pool.objects.get(pk=default_pool.pk).is_default
    resp = client.post(
        f"/crm/pool-settings/{east.pk}/", _form(departments=[stock.team.pk], is_default="on")
    )
    assert resp.status_code == 302
    assert list(Pool.objects.filter(is_default=True)) == [east]
    assert AuditLog.objects.filter(
        object_type="crm.pool", object_id=str(default_pool.pk), field="is_default", after="False"
    ).exists()


def test_a_pools_own_admin_changes_its_rules_not_its_members(
    stock, default_pool, client: Client
) -> None:
    east = Pool.objects.create(name="华东公海", admin=stock.manager, days_no_followup=30)
    east.departments.add(stock.team)
    client.force_login(stock.manager_user)
    assert 'id="pool-settings-link"' in client.get("/crm/pool/").content.decode()
    listing = client.get("/crm/pool-settings/").content.decode()
    assert "华东公海" in listing and default_pool.name not in listing
    assert 'id="pool-new"' not in listing
    page = client.get(f"/crm/pool-settings/{east.pk}/").content.decode()
    assert 'name="name"' not in page and 'name="departments"' not in page
    assert "公海的名称、成员部门和管理员由系统管理员设置" in page
    # Member fields sent anyway are not read.
    form = _form(name="改名公海", days_no_followup="45", departments=[stock.other_team.pk])
    assert client.post(f"/crm/pool-settings/{east.pk}/", form).status_code == 302
    east.refresh_from_db()
    assert (east.name, east.days_no_followup, list(east.departments.all())) == (
        "华东公海",
        45,
        [stock.team],
    )
    assert AuditLog.objects.filter(
        object_type="crm.pool", field="days_no_followup", actor=stock.manager_user
    ).exists()
    assert client.get("/crm/pool-settings/new/").status_code == 403
    assert client.get(f"/crm/pool-settings/{default_pool.pk}/").status_code == 403
    assert client.post(f"/crm/pool-settings/{east.pk}/delete/").status_code == 403
    client.force_login(stock.rep_user)
    assert 'id="pool-settings-link"' not in client.get("/crm/pool/").content.decode()
    assert client.get("/crm/pool-settings/").status_code == 403
    assert client.get(f"/crm/pool-settings/{east.pk}/").status_code == 403
    assert (
        client.post(f"/crm/pool-settings/{east.pk}/", _form(days_no_followup="1")).status_code
        == 403
    )
    assert Pool.objects.get(pk=east.pk).days_no_followup == 45


def test_a_pool_that_holds_customers_or_has_a_history_is_not_deleted(
    stock, admin, default_pool, client: Client
) -> None:
    east = Pool.objects.create(name="华东公海")
    east.departments.add(stock.team)
    PoolLevelRule.objects.create(pool=east, level="A", days_no_followup=10)
    c = CustomerFactory(owner=stock.rep, department=stock.team)
    customer_release(actor=stock.rep_user, customer=c, reason="暂无需求")
    client.force_login(admin)
    listing = client.get("/crm/pool-settings/").content.decode()
    assert f'action="/crm/pool-settings/{east.pk}/delete/"' not in listing
    client.post(f"/crm/pool-settings/{east.pk}/delete/")
    assert Pool.objects.filter(pk=east.pk).exists()
    page = client.get("/crm/pool-settings/").content.decode()
    assert "华东公海中还有 1 个客户，不能删除" in page

    pool_claim(actor=stock.rep_user, customer=c)
    assert not PoolCustomer.objects.filter(pool=east).exists()
    client.post(f"/crm/pool-settings/{east.pk}/delete/")
    assert Pool.objects.filter(pk=east.pk).exists()
    assert "已有领取、放入或收回记录" in client.get("/crm/pool-settings/").content.decode()

    client.post(f"/crm/pool-settings/{default_pool.pk}/delete/")
    assert Pool.objects.filter(pk=default_pool.pk).exists()

    unused = Pool.objects.create(name="备用公海", days_no_deal=90)
    assert client.post(f"/crm/pool-settings/{unused.pk}/delete/").status_code == 302
    assert not Pool.objects.filter(pk=unused.pk).exists()
    gone = AuditLog.objects.filter(
        object_type="crm.pool", object_id=str(unused.pk), action="delete"
    )
    assert set(gone.values_list("field", "before")) >= {
        ("name", "备用公海"),
        ("days_no_deal", "90"),
    }
