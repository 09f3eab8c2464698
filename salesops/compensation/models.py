"""Commission runs: plan versions, periods, runs and their stored results and lines."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.core.fields import JSONTextField
from salesops.org.models import Member


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    ACTIVE = "active", _("生效")
    SUPERSEDED = "superseded", _("已被取代")


class CompPlanVersion(models.Model):
    code = models.CharField(_("方案代码"), max_length=40)
    name = models.CharField(_("方案名称"), max_length=120)
    version = models.PositiveIntegerField(_("版本"))
    source_path = models.CharField(_("方案文件"), max_length=300, blank=True)
    text = models.TextField(_("方案内容（TOML）"))
    effective_from = models.DateField(_("生效月份"))
    status = models.CharField(
        _("状态"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    activated_at = models.DateTimeField(_("生效时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("奖金方案版本")
        verbose_name_plural = _("奖金方案版本")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="comp_plan_code_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("未结账")
    CLOSING = "closing", _("结账审批中")
    CLOSED = "closed", _("已结账")


class CommissionRun(models.Model):
    period = models.DateField(_("结算月份"), db_index=True)  # first day of the month
    plan_version = models.ForeignKey(
        CompPlanVersion, verbose_name=_("方案版本"), on_delete=models.PROTECT, related_name="runs"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    members_count = models.PositiveIntegerField(_("会员数"), default=0)
    total = models.DecimalField(_("奖金合计"), default=0, max_digits=18, decimal_places=2)
    ignored_orders = models.PositiveIntegerField(_("忽略的订单数"), default=0)
    error = models.TextField(_("错误"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("结算批次")
        verbose_name_plural = _("结算批次")
        ordering = ["-period", "-id"]
        constraints = [
            # At most one queued/running run per period, whatever the race.
            models.UniqueConstraint(
                fields=["period"],
                condition=Q(status__in=["queued", "running"]),
                name="comp_run_one_active_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES


class CommissionPeriod(models.Model):
    period = models.DateField(_("结算月份"), unique=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=PeriodStatus.choices, default=PeriodStatus.OPEN
    )
    current_run = models.ForeignKey(
        CommissionRun,
        verbose_name=_("当前结果"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    close_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结账申请人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("结账时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("结算期间")
        verbose_name_plural = _("结算期间")
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m}"


# Results and lines are written only by a run's store, in bulk, from the members the run
# has just read, and members are never deleted (they are terminated): so their foreign
# keys have no database constraint (a check per reference was most of the store's time at
# a million members); Django still cascades a run's deletion and protects a member. Only
# the indexes that queries use are kept: (run, member) covers ``run``.
#
# On PostgreSQL both tables are partitioned by run (migration 0005, core/pgpartition.py):
# a run's rows are written into a table of their own, indexed, and attached in the store's
# transaction. So the primary key there is (id, run_id), and nothing may hold a database
# foreign key to them (Dispute.line and PayoutItem.result are plain columns, cascaded and
# protected by Django).
class CommissionResult(models.Model):
    PARTITION_KEY = "run_id"  # see above; core/db/postgresql reads it
    run = models.ForeignKey(
        CommissionRun,
        verbose_name=_("结算批次"),
        on_delete=models.CASCADE,
        related_name="results",
        db_constraint=False,
        db_index=False,  # comp_result_run_member covers it
    )
    # Not indexed alone: a member's own results are looked up in the current runs
    # (selectors.my_results), which comp_result_run_member serves; one index fewer to
    # maintain for each of a million rows a run stores.
    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
    )
    paid_as = models.CharField(_("当月职级"), max_length=8, blank=True)
    title = models.CharField(_("荣衔"), max_length=8, blank=True)
    pv = models.DecimalField(_("个人业绩"), max_digits=18, decimal_places=2)
    pv_by_cutoff = models.DecimalField(_("20号前业绩"), max_digits=18, decimal_places=2)
    sr_count = models.PositiveIntegerField(_("亲自培训SR数"))
    sr_volume = models.DecimalField(_("亲自培训SR业绩"), max_digits=18, decimal_places=2)
    sales_bonus = models.DecimalField(_("销售奖金"), max_digits=18, decimal_places=2)
    morning_star = models.DecimalField(_("晨星奖"), max_digits=18, decimal_places=2)
    open_star = models.DecimalField(_("开星奖"), max_digits=18, decimal_places=2)
    override = models.DecimalField(_("季度评估"), max_digits=18, decimal_places=2)
    total = models.DecimalField(_("合计"), max_digits=18, decimal_places=2)
    # Sum of this run's adjustment lines (corrections of closed periods), not in ``total``.
    adjustment = models.DecimalField(
        _("调整"), max_digits=18, decimal_places=2, default=0, db_default=0
    )

    class Meta:
        verbose_name = _("结算结果")
        verbose_name_plural = _("结算结果")
        ordering = ["run", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "member"], name="comp_result_run_member"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.member_id}"


class CommissionLine(models.Model):
    PARTITION_KEY = "run_id"
    # No constraints (see CommissionResult). Lines are looked up by (run, member[, seq]),
    # by run and rule, or by primary key: the (run, member, seq) index is the only one.
    run = models.ForeignKey(
        CommissionRun,
        verbose_name=_("结算批次"),
        on_delete=models.CASCADE,
        related_name="lines",
        db_constraint=False,
        db_index=False,
    )
    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    seq = models.PositiveIntegerField(_("序号"))
    rule = models.CharField(_("规则"), max_length=32)
    name = models.CharField(_("奖项"), max_length=64)
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2)
    formula = models.TextField(_("计算公式"))
    # Text, not jsonb: see JSONTextField.
    inputs = JSONTextField(_("输入"), default=dict)
    source_member = models.ForeignKey(
        Member,
        verbose_name=_("来源会员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    generation = models.PositiveSmallIntegerField(_("代数"), null=True, blank=True)
    # Adjustment lines: the closed month they correct.
    source_period = models.DateField(_("调整所属月份"), null=True, blank=True)

    class Meta:
        verbose_name = _("结算明细")
        verbose_name_plural = _("结算明细")
        ordering = ["run", "member_id", "seq"]
        indexes = [models.Index(fields=["run", "member", "seq"])]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.member_id}/{self.rule}"


# --------------------------------------------------------------------------- disputes


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已关闭")


class Dispute(models.Model):
    """A member's query on one statement line; finance answers in the thread."""

    # No database constraint: lines are partitioned on PostgreSQL (see CommissionLine).
    line = models.ForeignKey(
        CommissionLine,
        verbose_name=_("结算明细"),
        on_delete=models.CASCADE,
        related_name="disputes",
        db_constraint=False,
    )
    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("奖金疑问")
        verbose_name_plural = _("奖金疑问")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["status", "-updated_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.line_id}"


class DisputeMessage(models.Model):
    dispute = models.ForeignKey(
        Dispute, verbose_name=_("奖金疑问"), on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回复人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("内容"), max_length=2000)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("疑问回复")
        verbose_name_plural = _("疑问回复")
        ordering = ["dispute", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id}/{self.pk}"


# --------------------------------------------------------------------------- payouts


class PayoutStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    EXPORTED = "exported", _("已导出")


class PayoutKind(models.TextChoices):
    MONTHLY = "monthly", _("月度奖金")
    OVERRIDE = "override", _("季度评估")
    ADJUSTMENT = "adjustment", _("调整")


class PayoutBatch(models.Model):
    """Everything paid on one payout date (e.g. the 10th of month M+2)."""

    pay_date = models.DateField(_("发放日期"), unique=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.DRAFT
    )
    total = models.DecimalField(_("发放合计"), max_digits=18, decimal_places=2, default=0)
    items_count = models.PositiveIntegerField(_("笔数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    exported_at = models.DateTimeField(_("导出时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("奖金发放批次")
        verbose_name_plural = _("奖金发放批次")
        ordering = ["-pay_date"]

    def __str__(self) -> str:
        return f"{self.pay_date:%Y-%m-%d}"


class PayoutItem(models.Model):
    batch = models.ForeignKey(
        PayoutBatch, verbose_name=_("发放批次"), on_delete=models.CASCADE, related_name="items"
    )
    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("one", "会员"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    period = models.DateField(_("结算月份"))  # the month the amount was earned (accrued)
    kind = models.CharField(_("类别"), max_length=16, choices=PayoutKind.choices)
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2)
    # No database constraint: results are partitioned on PostgreSQL (see CommissionResult).
    result = models.ForeignKey(
        CommissionResult,
        verbose_name=_("结算结果"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("发放明细")
        verbose_name_plural = _("发放明细")
        ordering = ["batch", "member_id", "period", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "member", "period", "kind"], name="comp_payout_item_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.member_id}/{self.kind}"
