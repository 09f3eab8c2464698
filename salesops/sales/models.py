"""The minimal sales ledger shared by later modules: customers, products with price lists,
orders with lines, and returns that reference their original order.

Totals are computed by the services from lines (never typed in) and stored so that lists
and analytics need no aggregation per row.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Cast, Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.org.models import Department, Employee, Member
from salesops.sales.keys import company_key, phone_key


class CustomerLevel(models.TextChoices):
    A = "A", _("A 重点客户")
    B = "B", _("B 普通客户")
    C = "C", _("C 一般客户")
    D = "D", _("D 低价值客户")


class CustomerStatus(models.TextChoices):
    POTENTIAL = "potential", _("潜在")
    WON = "won", _("成交")
    LOST = "lost", _("流失")


class Customer(models.Model):
    name = models.CharField(_("客户名称"), max_length=200)
    code = models.CharField(_("客户编号"), max_length=32, unique=True)
    phone = models.CharField(_("手机号"), max_length=32, blank=True)
    id_number = models.CharField(_("证件号码"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    source = models.CharField(_("客户来源"), max_length=64, blank=True)
    # None while the customer is in a public pool (公海, crm.PoolCustomer says which).
    owner = models.ForeignKey(
        Employee,
        verbose_name=_("负责人"),
        on_delete=models.PROTECT,
        related_name="customers",
        null=True,
        blank=True,
    )
    # The owner's department when assigned (scope filters need no join through employee);
    # in the pool, the last owner's.
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(
        _("客户级别"), max_length=1, choices=CustomerLevel.choices, default=CustomerLevel.B
    )
    industry = models.CharField(_("所属行业"), max_length=64, blank=True)
    status = models.CharField(
        _("客户状态"),
        max_length=16,
        choices=CustomerStatus.choices,
        default=CustomerStatus.POTENTIAL,
    )
    locked = models.BooleanField(_("锁定"), default=False)
    # When the current owner got the customer: the pool's "M days without a deal" counts
    # from here (a claim or a transfer restarts it).
    owner_since = models.DateTimeField(_("领取/分配时间"), null=True, blank=True)
    last_followup_at = models.DateTimeField(_("最后跟进时间"), null=True, blank=True)
    next_followup_on = models.DateField(_("下次跟进日期"), null=True, blank=True)
    won_at = models.DateTimeField(_("成交时间"), null=True, blank=True)
    # 查重 keys (sales.keys): the normalised company name and phone, indexed.
    name_key = models.CharField(_("名称查重键"), max_length=200, blank=True, editable=False)
    phone_key = models.CharField(_("电话查重键"), max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # The import that created the customer: hidden while its job runs, removed if its
    # worker dies (as Order.import_job; CustomerImporter writes in chunks).
    import_job = models.ForeignKey(
        "core.ImportJob",
        verbose_name=_("导入任务"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "客户")
        verbose_name_plural = _("客户")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["name_key"], name="sales_cust_name_key"),
            models.Index(fields=["phone_key"], name="sales_cust_phone_key"),
            # The pool reclaim: owned customers by how long since the last follow-up.
            models.Index(fields=["owner", "last_followup_at"], name="sales_cust_owner_follow"),
            # The customer list's sortable columns (a page walks the index; ties by id).
            models.Index(fields=["name", "id"], name="sales_cust_name_sort"),
            models.Index(fields=["source", "id"], name="sales_cust_source_sort"),
            models.Index(fields=["created_at", "id"], name="sales_cust_created_sort"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.set_keys()
        fields = kwargs.get("update_fields")
        if fields is not None and ({"name", "phone"} & set(fields)):
            kwargs["update_fields"] = {*fields, "name_key", "phone_key"}
        if fields is not None and "owner" in fields:
            kwargs["update_fields"] = {*kwargs["update_fields"], "owner_since"}
        super().save(*args, **kwargs)

    def set_keys(self) -> None:
        """The 查重 keys from the name and phone (bulk writes call it; ``save`` does)."""
        self.name_key = company_key(self.name)
        self.phone_key = phone_key(self.phone)
        # The pool's rules count from when the current owner got the customer.
        if self.owner_id is not None and self.owner_since is None:
            self.owner_since = timezone.now()


class Product(models.Model):
    sku = models.CharField(_("商品编码"), max_length=32, unique=True)
    name = models.CharField(_("商品名称"), max_length=200)
    unit = models.CharField(_("单位"), max_length=16, default="件")
    active = models.BooleanField(_("在售"), default=True)

    class Meta:
        verbose_name = _("商品")
        verbose_name_plural = _("商品")
        ordering = ["sku"]

    def __str__(self) -> str:
        return _("%(name)s（%(code)s）") % {"name": self.name, "code": self.sku}


class PriceList(models.Model):
    name = models.CharField(_("价目表"), max_length=100)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("价目表")
        verbose_name_plural = _("价目表")
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(
        PriceList,
        verbose_name=pgettext_lazy("one", "价目表"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    product = models.ForeignKey(
        Product,
        verbose_name=pgettext_lazy("one", "商品"),
        on_delete=models.CASCADE,
        related_name="prices",
    )
    list_price = models.DecimalField(_("零售价"), max_digits=18, decimal_places=2)
    member_price = models.DecimalField(_("会员价"), max_digits=18, decimal_places=2)
    pc_price = models.DecimalField(_("优惠顾客价"), max_digits=18, decimal_places=2)
    # 底价: a quote below it needs approval whatever the discount (blank: no floor).
    floor_price = models.DecimalField(
        _("最低售价"), max_digits=18, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("价目")
        verbose_name_plural = _("价目")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="price_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}/{self.product_id}"


class OrderKind(models.TextChoices):
    REGULAR = "regular", _("普通订单")
    ARO = "aro", _("自动订货")


class OrderStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("已确认")
    CANCELLED = "cancelled", _("已取消")


class Order(models.Model):
    order_no = models.CharField(_("订单号"), max_length=40, unique=True)
    order_date = models.DateField(_("下单日期"), db_index=True)
    kind = models.CharField(
        _("类型"), max_length=16, choices=OrderKind.choices, default=OrderKind.REGULAR
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.CONFIRMED
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=pgettext_lazy("one", "客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("购买会员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    # Whose sales this is (业绩归属): an employee, a member, or both.
    credited_employee = models.ForeignKey(
        Employee,
        verbose_name=_("业绩归属员工"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credited_orders",
    )
    credited_member = models.ForeignKey(
        Member,
        verbose_name=_("业绩归属会员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credited_orders",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("所属部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    total_amount = models.DecimalField(
        _("订单金额"), editable=False, default=0, max_digits=18, decimal_places=2
    )
    returned_amount = models.DecimalField(
        _("已退金额"), editable=False, default=0, max_digits=18, decimal_places=2
    )
    # total_amount in whole fen, computed and stored by the database with each write. A
    # commission run reads ten million order amounts; multiplying the decimal on every
    # read cost the server seconds (README, "Commission run in the app").
    total_fen = models.GeneratedField(
        expression=Cast(Round(F("total_amount") * 100), models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
        verbose_name=_("订单金额（分）"),
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
    # The import that wrote the order. An import commits in many short transactions, so
    # its orders exist before it is done: while its job runs they are hidden from every
    # list, page and API (order_scope_q), and if its worker dies they are removed again
    # (OrderImporter.discard). Indexed by the foreign key for that removal.
    import_job = models.ForeignKey(
        "core.ImportJob",
        verbose_name=_("导入任务"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = pgettext_lazy("one", "订单")
        verbose_name_plural = _("订单")
        ordering = ["-order_date", "-id"]
        indexes = [
            models.Index(fields=["credited_employee", "order_date"]),
            models.Index(fields=["credited_member", "order_date"]),
            # The orders list sorted by amount (bench/bench_list_pages.py).
            models.Index(fields=["total_amount", "id"], name="sales_order_amount_idx"),
        ]

    def __str__(self) -> str:
        return self.order_no


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order,
        verbose_name=pgettext_lazy("one", "订单"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    product = models.ForeignKey(
        Product, verbose_name=pgettext_lazy("one", "商品"), on_delete=models.PROTECT
    )
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("单价"), max_digits=18, decimal_places=2)
    amount = models.DecimalField(_("金额"), editable=False, max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("订单明细")
        verbose_name_plural = _("订单明细")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.product_id} × {self.quantity}"


class Return(models.Model):
    return_no = models.CharField(_("退货单号"), max_length=40, unique=True)
    original_order = models.ForeignKey(
        Order, verbose_name=_("原订单"), on_delete=models.PROTECT, related_name="returns"
    )
    return_date = models.DateField(_("退货日期"), db_index=True)
    reason = models.CharField(_("退货原因"), max_length=200, blank=True)
    # Positive number: the amount refunded. Compensation sees it as a negative volume.
    total_amount = models.DecimalField(
        _("退货金额"), editable=False, default=0, max_digits=18, decimal_places=2
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

    class Meta:
        verbose_name = _("退货单")
        verbose_name_plural = _("退货单")
        ordering = ["-return_date", "-id"]

    def __str__(self) -> str:
        return self.return_no


class ReturnLine(models.Model):
    ret = models.ForeignKey(
        Return, verbose_name=_("退货单"), on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        OrderLine,
        verbose_name=pgettext_lazy("one", "订单明细"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("金额"), editable=False, max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("退货明细")
        verbose_name_plural = _("退货明细")

    def __str__(self) -> str:
        return f"{self.ret_id}/{self.order_line_id} × {self.quantity}"


# ---------------------------------------------------------------------------------------
# Quotes (报价), contracts (合同), receivable plans and receipts (回款)
# ---------------------------------------------------------------------------------------


class DiscountLimit(models.Model):
    """How far below the list price a role may quote without approval (a setting; roles
    without a row use ``DEFAULT_DISCOUNT_LIMITS``)."""

    role = models.OneToOneField(
        "core.Role", verbose_name=_("角色"), on_delete=models.CASCADE, related_name="+"
    )
    max_discount = models.DecimalField(_("最大折扣（%）"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("报价折扣权限")
        verbose_name_plural = _("报价折扣权限")

    def __str__(self) -> str:
        return f"{self.role_id}: {self.max_discount}%"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    APPROVED = "approved", _("待发送")
    SENT = "sent", _("已发送")
    ACCEPTED = "accepted", _("已接受")
    DECLINED = "declined", _("客户未接受")


class Quote(models.Model):
    quote_no = models.CharField(_("报价单号"), max_length=40, unique=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=pgettext_lazy("one", "客户"),
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    owner = models.ForeignKey(
        Employee, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    price_list = models.ForeignKey(
        PriceList,
        verbose_name=pgettext_lazy("one", "价目表"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    title = models.CharField(_("报价主题"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    quote_date = models.DateField(_("报价日期"))
    valid_until = models.DateField(_("有效期至"))
    list_total = models.DecimalField(_("原价合计"), max_digits=18, decimal_places=2)
    total_amount = models.DecimalField(_("报价金额"), max_digits=18, decimal_places=2)
    discount = models.DecimalField(_("整单折扣（%）"), max_digits=5, decimal_places=2)
    # Why it needs approval ("" when within the quoting person's limit and every floor).
    approval_reason = models.CharField(_("需审批原因"), max_length=300, blank=True)
    contact_name = models.CharField(_("客户联系人"), max_length=64, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    campaign_code = models.CharField(_("活动代码"), max_length=32, blank=True)
    approved_at = models.DateTimeField(_("审批通过时间"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("客户答复时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "报价单")
        verbose_name_plural = _("报价单")
        ordering = ["-quote_date", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "quote_date"]),
            models.Index(fields=["department", "status", "quote_date"]),
            models.Index(fields=["customer", "quote_date"]),
        ]

    def __str__(self) -> str:
        return self.quote_no


class QuoteLine(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=pgettext_lazy("one", "报价单"), on_delete=models.CASCADE,
        related_name="lines",
    )  # fmt: skip
    product = models.ForeignKey(
        Product, verbose_name=pgettext_lazy("one", "商品"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2)
    list_price = models.DecimalField(_("原价"), max_digits=18, decimal_places=2)
    unit_price = models.DecimalField(_("报价单价"), max_digits=18, decimal_places=2)
    floor_price = models.DecimalField(
        _("最低售价"), null=True, blank=True, max_digits=18, decimal_places=2
    )
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("报价明细")
        verbose_name_plural = _("报价明细")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quote_id}/{self.product_id}"


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    APPROVED = "approved", _("待签署")
    SIGNED = "signed", _("已签署")
    FULFILLING = "fulfilling", _("履行中")
    COMPLETED = "completed", _("已完成")
    TERMINATING = "terminating", _("终止审批中")
    TERMINATED = "terminated", _("已终止")
    SUPERSEDED = "superseded", _("已变更")


# Statuses in which a contract binds: receipts and plans are taken against it.
CONTRACT_IN_FORCE = (
    ContractStatus.SIGNED,
    ContractStatus.FULFILLING,
    ContractStatus.TERMINATING,
)


class Contract(models.Model):
    """One version of a contract. An amendment (变更) is a new row with the same
    ``contract_no`` and the next ``version``; when it is signed the version before it
    becomes 已变更 and its plans and receipts move to the new one. A signed version is
    never edited."""

    contract_no = models.CharField(_("合同编号"), max_length=40)
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    amends = models.ForeignKey(
        "self", verbose_name=_("变更自"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )  # fmt: skip
    name = models.CharField(_("合同名称"), max_length=200)
    customer = models.ForeignKey(
        Customer, verbose_name=pgettext_lazy("one", "客户"), on_delete=models.PROTECT,
        related_name="contracts",
    )  # fmt: skip
    owner = models.ForeignKey(
        Employee, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    quote = models.ForeignKey(
        Quote, verbose_name=pgettext_lazy("one", "报价单"), on_delete=models.PROTECT,
        related_name="contracts", null=True, blank=True,
    )  # fmt: skip
    status = models.CharField(
        _("状态"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    amount = models.DecimalField(_("合同金额"), max_digits=18, decimal_places=2)
    received_amount = models.DecimalField(_("已回款"), default=0, max_digits=18, decimal_places=2)
    start_on = models.DateField(_("开始日期"))
    end_on = models.DateField(_("结束日期"))
    signed_on = models.DateField(_("签约日期"), null=True, blank=True)
    customer_signatory = models.CharField(_("客户签约人"), max_length=64, blank=True)
    our_signatory = models.ForeignKey(
        Employee, verbose_name=_("公司签约人"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )  # fmt: skip
    terms = models.TextField(_("主要条款"), max_length=5000, blank=True)
    change_reason = models.CharField(_("变更原因"), max_length=300, blank=True)
    termination_reason = models.CharField(_("终止原因"), max_length=300, blank=True)
    # The status a termination request returns to when it is not approved.
    resume_status = models.CharField(
        _("终止前状态"), max_length=16, choices=ContractStatus.choices, blank=True
    )
    terminated_on = models.DateField(_("终止日期"), null=True, blank=True)
    completed_on = models.DateField(_("完成日期"), null=True, blank=True)
    expiry_reminded = models.BooleanField(_("已发到期提醒"), default=False)
    campaign_code = models.CharField(_("活动代码"), max_length=32, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT,
        related_name="+", null=True, blank=True,
    )  # fmt: skip
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "合同")
        verbose_name_plural = _("合同")
        ordering = ["-start_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["contract_no", "version"], name="contract_version")
        ]
        indexes = [
            models.Index(fields=["owner", "status", "start_on"]),
            models.Index(fields=["department", "status", "start_on"]),
            models.Index(fields=["customer", "start_on"]),
            models.Index(fields=["status", "end_on"]),
        ]

    def __str__(self) -> str:
        return self.contract_no if self.version == 1 else f"{self.contract_no} v{self.version}"

    @property
    def outstanding(self) -> Any:
        return self.amount - self.received_amount


class ContractLine(models.Model):
    contract = models.ForeignKey(
        Contract, verbose_name=pgettext_lazy("one", "合同"), on_delete=models.CASCADE,
        related_name="lines",
    )  # fmt: skip
    product = models.ForeignKey(
        Product, verbose_name=pgettext_lazy("one", "商品"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("单价"), max_digits=18, decimal_places=2)
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("合同明细")
        verbose_name_plural = _("合同明细")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.contract_id}/{self.product_id}"


class PlanStatus(models.TextChoices):
    DUE = "due", _("待回款")
    PARTIAL = "partial", _("部分回款")
    PAID = "paid", _("已回款")
    OVERDUE = "overdue", _("逾期")


class ReceivablePlan(models.Model):
    """One instalment (期) of a contract's receivable plan. ``received`` is the sum of
    its approved receipts, kept by the receipt services."""

    contract = models.ForeignKey(
        Contract, verbose_name=pgettext_lazy("one", "合同"), on_delete=models.CASCADE,
        related_name="plans",
    )  # fmt: skip
    period = models.PositiveSmallIntegerField(_("期数"))
    due_on = models.DateField(_("计划回款日期"))
    amount = models.DecimalField(_("计划回款金额"), max_digits=18, decimal_places=2)
    received = models.DecimalField(_("已回款"), default=0, max_digits=18, decimal_places=2)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    reminded = models.BooleanField(_("已发逾期提醒"), default=False)

    class Meta:
        verbose_name = _("回款计划")
        verbose_name_plural = _("回款计划")
        ordering = ["contract_id", "period"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "period"], name="plan_period_unique")
        ]
        indexes = [models.Index(fields=["due_on", "contract"])]

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.period}"

    def status_on(self, day: Any) -> str:
        if self.received >= self.amount:
            return PlanStatus.PAID
        if self.due_on < day:
            return PlanStatus.OVERDUE
        return PlanStatus.PARTIAL if self.received > 0 else PlanStatus.DUE

    @property
    def status(self) -> str:
        return self.status_on(timezone.localdate())

    def get_status_display(self) -> str:
        return str(PlanStatus(self.status).label)


class ReceiptMethod(models.TextChoices):
    BANK = "bank", _("银行转账")
    CASH = "cash", _("现金")
    CHEQUE = "cheque", _("支票")
    WECHAT = "wechat", _("微信")
    ALIPAY = "alipay", _("支付宝")
    OTHER = "other", _("其他")


class ReceiptStatus(models.TextChoices):
    PENDING = "pending", _("待财务确认")
    APPROVED = "approved", _("已确认")
    REJECTED = "rejected", _("已驳回")


class Receipt(models.Model):
    """Money received on a contract (回款). Approved by finance. ``owner`` is the rep it
    is credited to (the contract's owner when recorded): a month's receipts per rep — what
    the employee commission is paid on — is one query on (owner, status, received_on)."""

    receipt_no = models.CharField(_("回款单号"), max_length=40, unique=True)
    contract = models.ForeignKey(
        Contract, verbose_name=pgettext_lazy("one", "合同"), on_delete=models.PROTECT,
        related_name="receipts",
    )  # fmt: skip
    plan = models.ForeignKey(
        ReceivablePlan, verbose_name=_("回款计划"), on_delete=models.PROTECT,
        related_name="receipts", null=True, blank=True,
    )  # fmt: skip
    customer = models.ForeignKey(
        Customer, verbose_name=pgettext_lazy("one", "客户"), on_delete=models.PROTECT,
        related_name="receipts",
    )  # fmt: skip
    owner = models.ForeignKey(
        Employee, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    received_on = models.DateField(_("回款日期"))
    amount = models.DecimalField(_("回款金额"), max_digits=18, decimal_places=2)
    method = models.CharField(_("回款方式"), max_length=16, choices=ReceiptMethod.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=ReceiptStatus.choices, default=ReceiptStatus.PENDING
    )
    # An overpayment (beyond the contract total) is recorded only on purpose, with a note.
    overpayment = models.BooleanField(_("超额回款"), default=False)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT,
        related_name="+", null=True, blank=True,
    )  # fmt: skip
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("one", "回款")
        verbose_name_plural = _("回款")
        ordering = ["-received_on", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "received_on"], name="sales_receipt_rep_month"),
            models.Index(fields=["department", "status", "received_on"]),
            models.Index(fields=["contract", "status"]),
            models.Index(fields=["customer", "received_on"]),
        ]

    def __str__(self) -> str:
        return self.receipt_no
