"""Organisation: the department tree, positions, employees and their managers, and the
direct-selling member network (sponsor tree with dated history and rank history)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Materialised paths: each ancestor id as a fixed-width base-36 segment, root first.
# Fixed width makes depth = len(path) / width and a subtree a contiguous key range.
PATH_SEGMENT = 7  # 36**7 ≈ 78 billion ids
PATH_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
PATH_UPPER = "~"  # sorts after every alphabet character in binary/C collation


class PathField(models.CharField):
    """A materialised path compared byte-wise on every database.

    Subtree queries are ``path >= p AND path < p || '~'``; that is only right under a
    binary collation, so on PostgreSQL the column is given collation "C" (SQLite's default
    BINARY already is). Kept out of ``deconstruct`` so migrations stay database-neutral.
    """

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class DepartmentKind(models.TextChoices):
    COMPANY = "company", _("公司")
    REGION = "region", _("大区")
    DEPARTMENT = "department", pgettext_lazy("one", "部门")
    TEAM = "team", _("团队")


class Department(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=DepartmentKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = PathField(_("部门路径"), max_length=700, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("层级"), default=0, editable=False)
    head = models.ForeignKey(
        "Employee",
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "部门")
        verbose_name_plural = _("部门")
        ordering = ["path"]
        # Lists sorted by a department's name walk this (core.listing.JoinedSort: unique,
        # as code is, so that SQLite sees one department per entry).
        constraints = [models.UniqueConstraint(fields=["name", "code"], name="org_dept_name_sort")]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    name = models.CharField(_("岗位名称"), max_length=100)
    code = models.CharField(_("岗位编码"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Employee(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="employee",
    )
    employee_no = models.CharField(_("工号"), max_length=32, unique=True)
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=pgettext_lazy("one", "部门"),
        on_delete=models.PROTECT,
        related_name="employees",
    )
    position = models.ForeignKey(
        Position, verbose_name=_("岗位"), null=True, blank=True, on_delete=models.SET_NULL
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("直属上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )
    # Management chain as a materialised path (self included): subordinates are a key range.
    manager_path = PathField(
        _("上级路径"), max_length=700, db_index=True, editable=False, default=""
    )
    hired_on = models.DateField(_("入职日期"), null=True, blank=True)
    active = models.BooleanField(_("在职"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "员工")
        verbose_name_plural = _("员工")
        ordering = ["employee_no"]
        # Lists sorted by an owner's name (负责人) walk this (core.listing.JoinedSort:
        # unique, as employee_no is, so that SQLite sees one employee per entry).
        constraints = [
            models.UniqueConstraint(fields=["name", "employee_no"], name="org_emp_name_sort")
        ]

    def __str__(self) -> str:
        return self.name


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("正常")
    TERMINATED = "terminated", _("已终止")


class Rank(models.TextChoices):
    """The seed plan's rank ladder, lowest first."""

    SR = "SR", _("业务代表")
    SE = "SE", _("销售主任")
    SSE = "SSE", _("资深销售主任")
    SM = "SM", _("销售经理")
    SSM = "SSM", _("资深销售经理")
    SD = "SD", _("销售总监")
    SSD = "SSD", _("资深销售总监")
    TE = "TE", _("寰宇领袖")


def rank_label(code: str | None) -> str:
    """A rank as people read it: its name in the reader's language with the code that
    plans and reports use (``资深销售总监 SSD``); a code no longer in the ladder as is."""
    if not code:
        return ""
    try:
        return f"{Rank(code).label} {code}"
    except ValueError:
        return code


class Member(models.Model):
    member_no = models.CharField(_("会员编号"), max_length=32, unique=True)
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
    )
    sponsor = models.ForeignKey(
        "self",
        verbose_name=_("推荐人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sponsored",
    )
    # Ancestors then self, PATH_SEGMENT base-36 chars each; depth 0 = a root.
    path = PathField(_("推荐路径"), max_length=2100, db_index=True, editable=False, default="")
    depth = models.PositiveIntegerField(_("层级"), default=0, editable=False, db_index=True)
    # Size of the whole downline, kept by the member services (counting a million-row
    # path range on every page view is too slow).
    downline_count = models.PositiveIntegerField(_("下线人数"), default=0, editable=False)
    joined_on = models.DateField(_("加入日期"))
    status = models.CharField(
        _("状态"), max_length=16, choices=MemberStatus.choices, default=MemberStatus.ACTIVE
    )
    title = models.CharField(_("职级"), max_length=8, choices=Rank.choices, blank=True)
    # Where bonuses are paid (personal data: masked in lists and the audit log).
    bank_name = models.CharField(_("开户银行"), max_length=64, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=34, blank=True)
    # Employee who services this member (for the employee data scopes).
    owner = models.ForeignKey(
        Employee,
        verbose_name=_("服务专员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "会员")
        verbose_name_plural = _("会员")
        ordering = ["member_no"]
        # Downline to N levels: one seek per level on (depth, path) instead of scanning
        # the whole subtree's path range.
        indexes = [models.Index(fields=["depth", "path"], name="org_member_depth_path")]

    def __str__(self) -> str:
        return _("%(name)s（%(code)s）") % {"name": self.name, "code": self.member_no}


class SponsorHistory(models.Model):
    """Who sponsored a member over which dates: [valid_from, valid_to).

    The tree as of any date is the set of rows valid on that date, so later issues can
    recompute past months after a sponsor move.
    """

    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.CASCADE,
        related_name="sponsor_history",
    )
    sponsor = models.ForeignKey(
        Member,
        verbose_name=_("推荐人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("推荐关系历史")
        verbose_name_plural = _("推荐关系历史")
        ordering = ["member", "valid_from", "id"]
        indexes = [models.Index(fields=["valid_from", "valid_to"])]

    def __str__(self) -> str:
        return f"{self.member_id} ← {self.sponsor_id} [{self.valid_from}, {self.valid_to})"


class RankHistory(models.Model):
    """Paid-as rank and title per member per month (written by commission runs/imports)."""

    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.CASCADE,
        related_name="rank_history",
    )
    period = models.DateField(_("月份"))  # first day of the month
    paid_as = models.CharField(_("当月职级"), max_length=8, choices=Rank.choices, blank=True)
    title = models.CharField(_("荣衔"), max_length=8, choices=Rank.choices, blank=True)

    class Meta:
        verbose_name = _("职级历史")
        verbose_name_plural = _("职级历史")
        ordering = ["member", "-period"]
        constraints = [
            models.UniqueConstraint(fields=["member", "period"], name="rank_history_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.period:%Y-%m} {self.paid_as}"


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")
    RETURNED = "returned", _("已退回")


class SponsorChangeRequest(models.Model):
    """申请变更推荐人: the first document type routed through the approval engine."""

    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    new_sponsor = models.ForeignKey(
        Member, verbose_name=_("新推荐人"), on_delete=models.PROTECT, related_name="+"
    )
    effective_on = models.DateField(_("生效日期"))
    reason = models.TextField(_("原因"))
    status = models.CharField(
        _("状态"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("推荐人变更申请")
        verbose_name_plural = _("推荐人变更申请")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.new_sponsor_id} @ {self.effective_on}"
