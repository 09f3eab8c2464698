"""Lead assignment rules (线索分配规则): in turn to the member assigned longest ago, or by
region, never beyond a member's capacity of open leads; set by managers within their
scope, audited; used from the leads list's 按规则分配 batch action."""

from __future__ import annotations

import pytest

from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditLog, Notification
from salesops.crm.models import AssignmentMode, Lead
from salesops.crm.services.assignment import (
    MemberLine,
    assignment_rule_save,
    leads_auto_assign,
    parse_member_lines,
)
from salesops.factories import EmployeeFactory, UserFactory, role


def _leads(n: int, region: str = "", department: object = None) -> list[Lead]:
    return [
        Lead.objects.create(
            code=f"XS-A{region}{i}", company=f"公司{region}{i}", region=region,
            department=department,
        )
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def rep2(stock):  # type: ignore[no-untyped-def]
    user = UserFactory(username="ann", role=role("rep"))
    return EmployeeFactory(name="安", department=stock.team, manager=stock.manager, user=user)


def test_round_robin_takes_turns_and_stops_at_capacity(stock, rep2) -> None:
    rule = assignment_rule_save(
        actor=stock.manager_user,
        department=stock.team,
        mode=AssignmentMode.ROUND_ROBIN,
        members=[MemberLine(stock.rep.employee_no, 2, ""), MemberLine(rep2.employee_no, 1, "")],
    )
    leads = _leads(5)
    done = leads_auto_assign(actor=stock.manager_user, leads=leads, rule=rule)
    owners = [done.assigned.get(x.pk) for x in leads]
    assert owners[:3] == [stock.rep.pk, rep2.pk, stock.rep.pk]  # turns; then both are full
    assert owners[3:] == [None, None] and set(done.left.values()) == {"成员都已达到容量上限"}
    assert Notification.objects.filter(user=stock.rep_user, title__contains="2 条").exists()
    assert AuditLog.objects.filter(object_type="crm.lead", field="owner").count() == 3
    again = leads_auto_assign(actor=stock.manager_user, leads=leads, rule=rule)
    assert again.assigned == {}  # assigned leads are not handed out twice


def test_by_region_only_to_whoever_covers_it(stock, rep2) -> None:
    rule = assignment_rule_save(
        actor=stock.manager_user,
        department=stock.team,
        mode=AssignmentMode.REGION,
        members=parse_member_lines(
            f"{stock.rep.employee_no} 30 杭州,宁波\n{rep2.employee_no} 上海"
        ),
    )
    hz, sh, gz = _leads(1, "浙江杭州")[0], _leads(1, "上海")[0], _leads(1, "广州")[0]
    done = leads_auto_assign(actor=None, leads=[hz, sh, gz], rule=rule)
    assert done.assigned == {hz.pk: stock.rep.pk, sh.pk: rep2.pk}
    assert "广州" in done.left[gz.pk]


def test_rules_are_set_by_managers_within_their_scope(stock, rep2) -> None:
    with pytest.raises(PermissionDeniedError):
        assignment_rule_save(actor=stock.rep_user, department=stock.team, mode="round_robin",
                             members=[MemberLine(stock.rep.employee_no, 5, "")])  # fmt: skip
    with pytest.raises(ServiceError) as err:
        assignment_rule_save(actor=stock.manager_user, department=stock.team, mode="round_robin",
                             members=[MemberLine(stock.outsider.employee_no, 5, "")])  # fmt: skip
    assert stock.outsider.employee_no in str(err.value.message)
    with pytest.raises(ServiceError) as err:
        assignment_rule_save(actor=stock.manager_user, department=stock.team, mode="region",
                             members=[MemberLine(stock.rep.employee_no, 5, "")])  # fmt: skip
    assert err.value.field == "members"
    with pytest.raises(ServiceError):
        parse_member_lines(f"{stock.rep.employee_no} 0")


def test_the_leads_list_assigns_by_rule(stock, rep2, client) -> None:
    client.force_login(stock.manager_user)  # the team's manager sets the rule
    resp = client.post(
        "/crm/lead-assignment/",
        {"department": stock.team.pk, "mode": "round_robin", "active": "on",
         "members": f"{stock.rep.employee_no} 10\n{rep2.employee_no} 10"},
    )  # fmt: skip
    assert resp.status_code == 302
    page = client.get("/crm/lead-assignment/").content.decode()
    assert "爱丽丝" in page and "0 / 10" in page
    # Unassigned leads of the team are seen by department scopes: the region's director.
    director = UserFactory(username="dora", role=role("director"))
    EmployeeFactory(name="朵拉", department=stock.company, user=director)
    client.force_login(director)
    leads = _leads(2, department=stock.team)
    resp = client.post(
        "/crm/leads/?scene=unassigned",
        {"list_action": "batch", "batch": "auto_assign", "ids": [x.pk for x in leads]},
        follow=True,
    )
    assert "已分配 2 条线索" in resp.content.decode()
    assert set(
        Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("owner", flat=True)
    ) == {
        stock.rep.pk,
        rep2.pk,
    }
    client.force_login(stock.rep_user)
    assert client.get("/crm/lead-assignment/").status_code == 403
