"""CRM: leads (线索), public pools (公海) and their rules, contacts (联系人) and follow-ups
(跟进记录). Customers themselves are ``sales.Customer``; this module adds what happens
between a first contact and a deal.

A customer in a pool has no owner (``Customer.owner`` is None) and one ``PoolCustomer``
row saying which pool and since when; every move in or out is a ``PoolMove`` (the claim
limits and the former owner's cool-down are counted from these rows)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.org.models import Department, Employee
from salesops.sales.keys import company_key, email_key, phone_key
from salesops.sales.models import Customer, CustomerLevel


class Pool(models.Model):
    """A public pool (公海) with its members, admin and rules (Wukong's many pools; the
    per-level days are ``PoolLevelRule``)."""

    name = models.CharField(_("公海名称"), max_length=64, unique=True)
    admin = models.ForeignKey(
        Employee,
        verbose_name=_("公海管理员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Members: the employees of these departments and their sub-departments. A customer
    # released or reclaimed goes to the pool whose departments hold its department
    # (nearest first), else to the default pool.
    departments = models.ManyToManyField(
        Department, verbose_name=_("成员部门"), blank=True, related_name="+"
    )
    is_default = models.BooleanField(_("默认公海"), default=False)
    auto_reclaim = models.BooleanField(_("自动收回"), default=True)
    days_no_followup = models.PositiveIntegerField(_("未跟进收回天数"), null=True, blank=True)
    days_no_deal = models.PositiveIntegerField(_("未成交收回天数"), null=True, blank=True)
    skip_won = models.BooleanField(_("成交客户不收回"), default=True)
    skip_open_opportunity = models.BooleanField(_("有进行中商机不收回"), default=True)
    notify_days = models.PositiveIntegerField(_("提前提醒天数"), default=3)
    max_owned = models.PositiveIntegerField(_("每人拥有客户上限"), null=True, blank=True)
    count_won = models.BooleanField(_("成交客户计入上限"), default=False)
    max_locked = models.PositiveIntegerField(_("每人锁定客户上限"), null=True, blank=True)
    claims_per_day = models.PositiveIntegerField(_("每人每天领取上限"), null=True, blank=True)
    former_owner_days = models.PositiveIntegerField(_("前负责人不可领取天数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "公海")
        verbose_name_plural = _("公海")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoolLevelRule(models.Model):
    """The days of a pool's rules for one customer level, when they differ from the pool's."""

    pool = models.ForeignKey(
        Pool, verbose_name=_("公海"), on_delete=models.CASCADE, related_name="level_rules"
    )
    level = models.CharField(_("客户级别"), max_length=1, choices=CustomerLevel.choices)
    days_no_followup = models.PositiveIntegerField(_("未跟进收回天数"), null=True, blank=True)
    days_no_deal = models.PositiveIntegerField(_("未成交收回天数"), null=True, blank=True)

    class Meta:
        verbose_name = _("公海级别规则")
        verbose_name_plural = _("公海级别规则")
        constraints = [
            models.UniqueConstraint(fields=["pool", "level"], name="crm_pool_level_once")
        ]

    def __str__(self) -> str:
        return f"{self.pool} {self.level}"


class PoolCustomer(models.Model):
    customer = models.OneToOneField(
        Customer,
        verbose_name=_("客户"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="pool_entry",
    )
    pool = models.ForeignKey(
        Pool, verbose_name=_("公海"), on_delete=models.PROTECT, related_name="entries"
    )
    entered_at = models.DateTimeField(_("进入公海时间"))
    former_owner = models.ForeignKey(
        Employee,
        verbose_name=_("前负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("进入原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("公海客户")
        verbose_name_plural = _("公海客户")
        indexes = [models.Index(fields=["pool", "-entered_at"], name="crm_poolcust_pool_at")]

    def __str__(self) -> str:
        return f"{self.customer} → {self.pool}"


class PoolMoveKind(models.TextChoices):
    RELEASE = "release", _("放入公海")
    RECLAIM = "reclaim", _("自动收回")
    CLAIM = "claim", _("领取")
    ASSIGN = "assign", _("分配")


class PoolMove(models.Model):
    """Every move of a customer into or out of a pool (the log the reclaim writes, and what
    the claim limits count)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="pool_moves"
    )
    pool = models.ForeignKey(
        Pool, verbose_name=_("公海"), on_delete=models.PROTECT, related_name="moves"
    )
    kind = models.CharField(_("动作"), max_length=16, choices=PoolMoveKind.choices)
    # For a release/reclaim the owner who lost the customer; for a claim/assign the new one.
    employee = models.ForeignKey(
        Employee,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))
    rule = models.CharField(_("规则"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("公海记录")
        verbose_name_plural = _("公海记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["employee", "kind", "at"], name="crm_poolmove_emp_kind_at"),
            models.Index(fields=["customer", "-at"], name="crm_poolmove_cust_at"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.kind} {self.at:%Y-%m-%d}"


class LeadStatus(models.TextChoices):
    NEW = "new", _("新线索")
    FOLLOWING = "following", _("跟进中")
    CONVERTED = "converted", _("已转化")
    INVALID = "invalid", _("无效")


class Lead(models.Model):
    """A first contact (线索): from a form, an import, the API or a campaign code. Converted
    once into a customer + contact (+ an opportunity); then read-only."""

    code = models.CharField(_("线索编号"), max_length=32, unique=True)
    company = models.CharField(_("公司名称"), max_length=200)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    email = models.CharField(_("邮箱"), max_length=254, blank=True)
    source = models.CharField(_("线索来源"), max_length=64, blank=True)
    campaign_code = models.CharField(_("活动代码"), max_length=32, blank=True)
    region = models.CharField(_("地区"), max_length=64, blank=True)
    note = models.TextField(_("备注"), blank=True)
    owner = models.ForeignKey(
        Employee,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("所属部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("转化客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    contact = models.ForeignKey(
        "Contact",
        verbose_name=_("转化联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_at = models.DateTimeField(_("转化时间"), null=True, blank=True)
    last_followup_at = models.DateTimeField(_("最后跟进时间"), null=True, blank=True)
    company_key = models.CharField(_("名称查重键"), max_length=200, blank=True, editable=False)
    phone_key = models.CharField(_("电话查重键"), max_length=32, blank=True, editable=False)
    email_key = models.CharField(_("邮箱查重键"), max_length=254, blank=True, editable=False)
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
        verbose_name = pgettext_lazy("one", "线索")
        verbose_name_plural = _("线索")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["company_key"], name="crm_lead_company_key"),
            models.Index(fields=["phone_key"], name="crm_lead_phone_key"),
            models.Index(fields=["email_key"], name="crm_lead_email_key"),
            models.Index(fields=["owner", "-id"], name="crm_lead_owner_id"),
            models.Index(fields=["department", "-id"], name="crm_lead_dept_id"),
        ]

    def __str__(self) -> str:
        return self.company

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.company_key = company_key(self.company)
        self.phone_key = phone_key(self.phone)
        self.email_key = email_key(self.email)
        super().save(*args, **kwargs)


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    email = models.CharField(_("邮箱"), max_length=254, blank=True)
    title = models.CharField(_("职务/角色"), max_length=64, blank=True)
    decision_maker = models.BooleanField(_("关键决策人"), default=False)
    phone_key = models.CharField(_("电话查重键"), max_length=32, blank=True, editable=False)
    email_key = models.CharField(_("邮箱查重键"), max_length=254, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "联系人")
        verbose_name_plural = _("联系人")
        ordering = ["-decision_maker", "id"]
        indexes = [
            models.Index(fields=["phone_key"], name="crm_contact_phone_key"),
            models.Index(fields=["email_key"], name="crm_contact_email_key"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.phone_key = phone_key(self.phone)
        self.email_key = email_key(self.email)
        super().save(*args, **kwargs)


class ActivityKind(models.TextChoices):
    CALL = "call", _("电话")
    VISIT = "visit", _("拜访")
    WECHAT = "wechat", _("微信")
    MEETING = "meeting", _("会议")
    EMAIL = "email", _("邮件")


class Activity(models.Model):
    """A follow-up (跟进记录) on a customer or a lead. Each one moves the customer's
    ``last_followup_at`` (what the pool's "N days without a follow-up" reads)."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("线索"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    opportunity = models.ForeignKey(
        "Opportunity",
        verbose_name=_("商机"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    kind = models.CharField(_("跟进方式"), max_length=16, choices=ActivityKind.choices)
    content = models.TextField(_("跟进内容"))
    next_step = models.CharField(_("下一步"), max_length=300, blank=True)
    next_on = models.DateField(_("下次跟进日期"), null=True, blank=True)
    # Whether the due reminder of next_on was sent (the reminder job is idempotent).
    reminded = models.BooleanField(_("已提醒"), default=False, editable=False)
    # The next step was taken: a later follow-up on the same customer (or lead) closes it.
    done = models.BooleanField(_("已完成下一步"), default=False, editable=False)
    employee = models.ForeignKey(
        Employee, verbose_name=_("跟进人"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("跟进时间"))

    class Meta:
        verbose_name = pgettext_lazy("one", "跟进记录")
        verbose_name_plural = _("跟进记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-at"], name="crm_activity_cust_at"),
            models.Index(fields=["lead", "-at"], name="crm_activity_lead_at"),
            models.Index(fields=["next_on", "reminded"], name="crm_activity_due"),
            models.Index(
                fields=["customer", "next_on"],
                name="crm_activity_open",
                condition=models.Q(done=False, next_on__isnull=False),
            ),
            models.Index(fields=["employee", "-at"], name="crm_activity_emp_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(lead__isnull=False),
                name="crm_activity_has_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"


# ---------------------------------------------------------------------- opportunities


class StageGroup(models.Model):
    """A sales process (阶段组): the stages an opportunity passes, for the departments that
    use it (the nearest up the tree wins; the default group for everyone else)."""

    name = models.CharField(_("阶段组名称"), max_length=64, unique=True)
    departments = models.ManyToManyField(
        Department, verbose_name=_("适用部门"), blank=True, related_name="+"
    )
    is_default = models.BooleanField(_("默认阶段组"), default=False)

    class Meta:
        verbose_name = pgettext_lazy("one", "阶段组")
        verbose_name_plural = _("阶段组")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="crm_stagegroup_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    group = models.ForeignKey(
        StageGroup, verbose_name=_("阶段组"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("阶段名称"), max_length=32)
    probability = models.PositiveSmallIntegerField(_("赢率（%）"))
    order = models.PositiveSmallIntegerField(_("顺序"))

    class Meta:
        verbose_name = pgettext_lazy("one", "商机阶段")
        verbose_name_plural = _("商机阶段")
        ordering = ["group", "order"]
        constraints = [
            models.UniqueConstraint(fields=["group", "order"], name="crm_stage_group_order"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="crm_stage_probability"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.probability}%）"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    WON = "won", _("赢单")
    LOST = "lost", _("输单")
    INVALID = "invalid", _("无效")


class Opportunity(models.Model):
    """A deal being worked (商机): on a customer, owned by an employee, moving through the
    stages of its group until it ends 赢单 / 输单 / 无效 (the end is not a stage)."""

    code = models.CharField(_("商机编号"), max_length=32, unique=True)
    name = models.CharField(_("商机名称"), max_length=200)
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="opportunities"
    )
    owner = models.ForeignKey(
        Employee, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    group = models.ForeignKey(
        StageGroup, verbose_name=_("阶段组"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("阶段"), on_delete=models.PROTECT, related_name="opportunities"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    amount = models.DecimalField(_("预计金额"), max_digits=14, decimal_places=2)
    close_on = models.DateField(_("预计成交日期"))
    lost_reason = models.CharField(_("输单/无效原因"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("来源线索"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    campaign_code = models.CharField(_("活动代码"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "商机")
        verbose_name_plural = _("商机")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["department", "status", "stage"], name="crm_opp_dept_status"),
            # The kanban board (crm 0009): one sales process's open opportunities by stage
            # in card order, with what the columns sum and the scopes test — a board's
            # sums and its cards' ids come from an index alone (bench/bench_crm.py); a
            # rep's or a team's from their owners' entries.
            models.Index(
                fields=["owner", "status", "group", "stage", "close_on", "amount"],
                name="crm_opp_owner_board",
                include=("id",),
            ),
            models.Index(
                fields=["status", "group", "stage", "close_on", "amount", "owner", "department"],
                name="crm_opp_board",
                include=("id",),
            ),
            models.Index(fields=["customer", "status"], name="crm_opp_customer"),
            models.Index(fields=["status", "close_on"], name="crm_opp_status_close"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="crm_opp_amount")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == OpportunityStatus.OPEN


class OpportunityProduct(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("商机"), on_delete=models.CASCADE, related_name="products"
    )
    product = models.ForeignKey(
        "sales.Product", verbose_name=_("商品"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2)
    price = models.DecimalField(_("单价"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = pgettext_lazy("one", "商机产品")
        verbose_name_plural = _("商机产品")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"


class StageChange(models.Model):
    """Who moved an opportunity, when, from where to where (the stage history)."""

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("商机"), on_delete=models.CASCADE, related_name="changes"
    )
    from_stage = models.ForeignKey(
        Stage, verbose_name=_("原阶段"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("新阶段"), on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("说明"), max_length=300, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = pgettext_lazy("one", "阶段变更")
        verbose_name_plural = _("阶段变更")
        ordering = ["opportunity", "at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"], name="crm_stagechange_opp_at")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


# ---------------------------------------------------------------------- after-sales


class VisitSource(models.TextChoices):
    CONTRACT = "contract", _("合同开始后")
    ORDER = "order", _("订单下单后")


class VisitForm(models.TextChoices):
    PHONE = "phone", _("电话")
    ONSITE = ("onsite", _("上门"))  # (in brackets: not read as an HTML on…= handler)
    WECHAT = "wechat", _("微信")


class Satisfaction(models.IntegerChoices):
    """Five levels, 5 the best (an average reads the right way up)."""

    VERY_SATISFIED = 5, _("很满意")
    SATISFIED = 4, _("满意")
    NEUTRAL = 3, pgettext_lazy("satisfaction", "一般")
    DISSATISFIED = 2, _("不满意")
    VERY_DISSATISFIED = 1, _("很不满意")


class VisitRule(models.Model):
    """When a return visit (回访) is due: N days after a contract starts or an order is
    placed (orders have no delivery date). The scheduled job creates one visit task per
    source and rule."""

    name = models.CharField(_("规则名称"), max_length=64)
    source = models.CharField(_("回访依据"), max_length=16, choices=VisitSource.choices)
    days = models.PositiveSmallIntegerField(_("间隔天数"))
    form = models.CharField(
        _("默认回访形式"), max_length=16, choices=VisitForm.choices, default=VisitForm.PHONE
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "回访规则")
        verbose_name_plural = _("回访规则")
        ordering = ["source", "days", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "days"], name="crm_visitrule_once"),
            models.CheckConstraint(
                condition=models.Q(days__gte=1, days__lte=3650), name="crm_visitrule_days"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VisitStatus(models.TextChoices):
    PENDING = "pending", _("待回访")
    DONE = "done", _("已回访")


class ReturnVisit(models.Model):
    """A return visit (回访): a task the rule job planned (``pending`` with ``due_on``)
    that logging the visit completes, or a visit logged directly. ``source_key`` names the
    contract (by number, so an amended version is not visited again) or the order."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="visits"
    )
    contract = models.ForeignKey(
        "sales.Contract",
        verbose_name=pgettext_lazy("one", "合同"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=pgettext_lazy("one", "订单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rule = models.ForeignKey(
        VisitRule,
        verbose_name=_("回访规则"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    source_key = models.CharField(_("回访依据"), max_length=64, blank=True, editable=False)
    owner = models.ForeignKey(
        Employee, verbose_name=_("回访人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=VisitStatus.choices, default=VisitStatus.PENDING
    )
    due_on = models.DateField(_("计划回访日期"), null=True, blank=True)
    form = models.CharField(_("回访形式"), max_length=16, choices=VisitForm.choices)
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.TextField(_("回访结果"), blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("客户满意度"), choices=Satisfaction.choices, null=True, blank=True
    )
    visited_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    visited_by = models.ForeignKey(
        Employee,
        verbose_name=_("实际回访人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "回访")
        verbose_name_plural = _("回访")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_on"], name="crm_visit_owner_status"),
            models.Index(fields=["department", "status", "due_on"], name="crm_visit_dept_status"),
            models.Index(fields=["customer", "-id"], name="crm_visit_customer"),
            models.Index(fields=["status", "due_on"], name="crm_visit_status_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "source_key"],
                condition=models.Q(rule__isnull=False),
                name="crm_visit_once_per_rule",
            ),
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="crm_visit_satisfaction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_status_display()}"


class FeedbackKind(models.TextChoices):
    SUGGESTION = "suggestion", _("建议")
    INQUIRY = "inquiry", _("咨询")
    PRAISE = "praise", _("表扬")
    OTHER = "other", _("其他")


class Feedback(models.Model):
    """Customer feedback (客户反馈) that is not a complaint: suggestions, questions, praise."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="feedback"
    )
    kind = models.CharField(_("反馈类型"), max_length=16, choices=FeedbackKind.choices)
    content = models.TextField(_("反馈内容"))
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = models.ForeignKey(
        Employee, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    handled = models.BooleanField(_("已处理"), default=False)
    reply = models.CharField(_("处理说明"), max_length=500, blank=True)
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("反馈时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "客户反馈")
        verbose_name_plural = _("客户反馈")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["owner", "handled", "-id"], name="crm_feedback_owner"),
            models.Index(fields=["department", "handled", "-id"], name="crm_feedback_dept"),
            models.Index(fields=["customer", "-id"], name="crm_feedback_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id}"


class ComplaintCategory(models.TextChoices):
    PRODUCT = "product", _("产品质量")
    SERVICE = "service", _("服务态度")
    DELIVERY = "delivery", _("物流配送")
    AFTER_SALES = "after_sales", _("售后服务")
    BILLING = "billing", _("价格费用")
    OTHER = "other", _("其他")


class ComplaintSeverity(models.TextChoices):
    NORMAL = "normal", _("一般")
    SERIOUS = "serious", _("严重")
    URGENT = "urgent", _("紧急")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("处理中")
    RESOLVED = "resolved", _("待客户确认")
    CLOSED = "closed", _("已关闭")


class Complaint(models.Model):
    """A complaint (投诉): owned by an employee, due by a deadline its severity sets
    (``SALESOPS_COMPLAINT_DAYS``), escalated up the owner's management chain while overdue
    (``escalation_level`` levels so far in this round), resolved, then confirmed by the
    customer — satisfied closes it, not satisfied reopens it with a new deadline."""

    code = models.CharField(_("投诉编号"), max_length=32, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="complaints"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("投诉主题"), max_length=200)
    content = models.TextField(_("投诉内容"))
    category = models.CharField(_("投诉类别"), max_length=16, choices=ComplaintCategory.choices)
    severity = models.CharField(_("严重程度"), max_length=16, choices=ComplaintSeverity.choices)
    owner = models.ForeignKey(
        Employee, verbose_name=_("处理人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN
    )
    received_at = models.DateTimeField(_("受理时间"))
    deadline = models.DateTimeField(_("处理时限"))
    # Each reopening starts a new round: a new deadline, escalations counted again.
    round = models.PositiveSmallIntegerField(_("处理轮次"), default=1)
    escalation_level = models.PositiveSmallIntegerField(_("已升级层级"), default=0)
    resolution = models.TextField(_("处理结果"), blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("客户确认时间"), null=True, blank=True)
    confirm_note = models.CharField(_("客户意见"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["owner", "status", "deadline"], name="crm_complaint_owner"),
            models.Index(fields=["department", "status", "deadline"], name="crm_complaint_dept"),
            models.Index(fields=["customer", "-id"], name="crm_complaint_customer"),
            models.Index(fields=["status", "deadline"], name="crm_complaint_due"),
        ]

    def __str__(self) -> str:
        return self.code


class ComplaintEvent(models.Model):
    """The history of a complaint: received, escalated (to whom, which level), resolved,
    confirmed or reopened. An escalation is recorded once per round and level."""

    class Kind(models.TextChoices):
        CREATED = "created", _("受理")
        ESCALATED = "escalated", _("超时升级")
        RESOLVED = "resolved", _("已解决")
        CONFIRMED = "confirmed", _("客户确认满意")
        REOPENED = "reopened", _("客户不满意，重新处理")

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("投诉"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("动作"), max_length=16, choices=Kind.choices)
    round = models.PositiveSmallIntegerField(_("处理轮次"))
    level = models.PositiveSmallIntegerField(_("升级层级"), default=0)
    notified = models.ForeignKey(
        Employee,
        verbose_name=_("通知对象"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("说明"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = pgettext_lazy("one", "投诉记录")
        verbose_name_plural = _("投诉记录")
        ordering = ["complaint", "at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["complaint", "round", "level"],
                condition=models.Q(kind="escalated"),
                name="crm_complaint_escalate_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind}"


class AssignmentMode(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("轮流分配")
    REGION = "region", _("按地区分配")


class AssignmentRule(models.Model):
    """How a team's unassigned leads are handed out (线索分配规则): in turn to its members,
    or to the member whose regions name the lead's region, each up to a capacity of open
    leads. The rule of the nearest department up the tree applies."""

    department = models.OneToOneField(
        Department, verbose_name=_("适用部门"), on_delete=models.CASCADE, related_name="+"
    )
    mode = models.CharField(
        _("分配方式"), max_length=16, choices=AssignmentMode.choices,
        default=AssignmentMode.ROUND_ROBIN,
    )  # fmt: skip
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("线索分配规则")
        verbose_name_plural = _("线索分配规则")

    def __str__(self) -> str:
        return f"{self.department_id}: {self.mode}"


class AssignmentMember(models.Model):
    rule = models.ForeignKey(
        AssignmentRule, verbose_name=_("线索分配规则"), on_delete=models.CASCADE,
        related_name="members",
    )  # fmt: skip
    employee = models.ForeignKey(
        Employee, verbose_name=_("员工"), on_delete=models.CASCADE, related_name="+"
    )
    # Open leads (新线索/跟进中) the member may hold; Odoo's default is 30.
    capacity = models.PositiveIntegerField(_("容量"), default=30)
    regions = models.CharField(_("负责地区"), max_length=300, blank=True)
    last_assigned_at = models.DateTimeField(_("最近分配时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("分配成员")
        verbose_name_plural = _("分配成员")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "employee"], name="crm_assign_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.employee_id}"

    def region_list(self) -> list[str]:
        return [r for r in self.regions.replace("，", ",").replace(" ", ",").split(",") if r]
