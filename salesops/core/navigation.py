"""The role-aware sidebar menu. An entry whose view does not exist is left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesops.core.access import viewer_for
from salesops.core.models import RoleCode, User

STAFF = (
    RoleCode.DIRECTOR,
    RoleCode.MANAGER,
    RoleCode.REP,
    RoleCode.MARKETING,
    RoleCode.FINANCE,
)
EVERYONE = (*STAFF, RoleCode.MEMBER)


@dataclass(frozen=True)
class Item:
    url_name: str
    label: str | Promise
    icon: str
    roles: tuple[str, ...]  # admin sees everything


MENU: list[tuple[str | Promise, list[Item]]] = [
    (
        _("工作台"),
        [
            Item("dashboard", _("首页"), "bi-speedometer2", EVERYONE),
            Item("core:approvals_inbox", _("审批中心"), "bi-check2-square", EVERYONE),
            Item("core:notifications", _("消息通知"), "bi-bell", EVERYONE),
        ],
    ),
    (
        _("组织架构"),
        [
            Item("org:departments", _("部门"), "bi-diagram-3", STAFF),
            Item("org:employees", _("员工"), "bi-people", STAFF),
            Item("org:chart", _("组织架构图"), "bi-diagram-2", STAFF),
        ],
    ),
    (
        _("直销网络"),
        [
            Item("org:members", _("会员"), "bi-person-badge", EVERYONE),
            Item("org:genealogy", _("会员族谱"), "bi-share", EVERYONE),
            Item("org:sponsor_changes", _("推荐人变更"), "bi-arrow-left-right", EVERYONE),
        ],
    ),
    (
        _("销售管理"),
        [
            Item("sales:customers", _("客户"), "bi-person-lines-fill", STAFF),
            Item("sales:products", _("商品"), "bi-box-seam", EVERYONE),
            Item("sales:price_lists", _("价目表"), "bi-tags", STAFF),
            Item("sales:orders", _("订单"), "bi-receipt", EVERYONE),
            Item("sales:returns", _("退货"), "bi-arrow-return-left", EVERYONE),
        ],
    ),
    (
        _("奖金结算"),
        [
            Item("compensation:runs", _("结算批次"), "bi-calculator", (RoleCode.FINANCE,)),
            Item("compensation:periods", _("月结"), "bi-lock", (RoleCode.FINANCE,)),
            Item("compensation:plans", _("奖金方案"), "bi-file-earmark-ruled", (RoleCode.FINANCE,)),
            Item("compensation:payouts", _("奖金发放"), "bi-bank", (RoleCode.FINANCE,)),
            Item(
                "compensation:disputes",
                _("奖金疑问"),
                "bi-chat-left-dots",
                (RoleCode.FINANCE, RoleCode.MEMBER),
            ),
            Item(
                "compensation:compliance",
                _("合规报告"),
                "bi-shield-check",
                (RoleCode.FINANCE, RoleCode.DIRECTOR),
            ),
            Item(
                "compensation:projection",
                _("倍增测算"),
                "bi-graph-up",
                (RoleCode.FINANCE, RoleCode.DIRECTOR),
            ),
            Item(
                "compensation:trips",
                _("旅游奖励"),
                "bi-airplane",
                (RoleCode.FINANCE, RoleCode.DIRECTOR, RoleCode.MEMBER),
            ),
            Item("compensation:my_statements", _("我的奖金"), "bi-wallet2", (RoleCode.MEMBER,)),
        ],
    ),
    (
        _("系统管理"),
        [
            Item("core:imports", _("数据导入"), "bi-upload", ()),
            Item("core:approval_flows", _("审批流程"), "bi-signpost-split", ()),
            Item("core:audit", _("操作日志"), "bi-journal-text", ()),
        ],
    ),
]


def menu_for(user: User, current_path: str) -> list[dict[str, Any]]:
    viewer = viewer_for(user)
    groups: list[dict[str, Any]] = []
    for label, items in MENU:
        entries: list[dict[str, Any]] = []
        for item in items:
            if not (viewer.is_admin or viewer.role in item.roles):
                continue
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            active = current_path == url or (url != "/" and current_path.startswith(url))
            entries.append({"url": url, "label": item.label, "icon": item.icon, "active": active})
        if entries:
            groups.append({"label": label, "items": entries})
    return groups
