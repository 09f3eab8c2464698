"""Shared models: users and roles with their data scope, the audit log, notifications,
API tokens and the approval engine (审批流)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RoleCode(models.TextChoices):
    ADMIN = "admin", _("系统管理员")
    DIRECTOR = "director", _("销售总监")
    MANAGER = "manager", _("销售经理")
    REP = "rep", _("销售代表")
    MARKETING = "marketing", _("市场部")
    FINANCE = "finance", _("财务")
    MEMBER = "member", _("直销会员")


class DataScope(models.TextChoices):
    """Row-level data scope, as Chinese CRMs have it (数据权限)."""

    SELF = "self", _("本人")
    SELF_AND_SUBORDINATES = "self_sub", _("本人及下属")
    DEPARTMENT = "dept", _("本部门")
    DEPARTMENT_AND_CHILDREN = "dept_sub", _("本部门及下级部门")
    ALL = "all", _("全部")


class Role(models.Model):
    code = models.CharField(_("编码"), max_length=32, unique=True, choices=RoleCode.choices)
    name = models.CharField(_("名称"), max_length=64)
    data_scope = models.CharField(
        _("数据权限"), max_length=16, choices=DataScope.choices, default=DataScope.SELF
    )
    # 查看敏感信息: may read unmasked phone / ID numbers of customers they can see.
    can_view_personal_info = models.BooleanField(_("可查看个人敏感信息"), default=False)
    can_export = models.BooleanField(_("可导出"), default=True)
    can_import = models.BooleanField(_("可导入"), default=False)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["id"]

    def __str__(self) -> str:
        # The stock roles show in the viewer's language; a renamed role shows its name.
        with translation.override("zh-hans"):
            stock_name = str(RoleCode(self.code).label)
        if not self.name or self.name == stock_name:
            return str(self.get_code_display())
        return self.name


class User(AbstractUser):
    role = models.ForeignKey(
        Role, verbose_name=_("角色"), null=True, blank=True, on_delete=models.PROTECT
    )
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_code(self) -> str:
        return self.role.code if self.role_id and self.role else ""


class ApiToken(models.Model):
    """Bearer token for the API. Only the SHA-256 of the token is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(_("令牌摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    # A digest of the user's password hash when the token was issued: a password change
    # (by any path) changes the hash, so the token stops working, like Django's session
    # auth hash does for sessions.
    password_fingerprint = models.CharField(_("密码指纹"), max_length=64, blank=True)
    label = models.CharField(_("名称"), max_length=100, blank=True)
    created_address = models.GenericIPAddressField(_("创建地址"), null=True, blank=True)
    created_user_agent = models.CharField(_("创建客户端"), max_length=300, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        indexes = [models.Index(fields=["user", "created_at"], name="core_apitoken_user_created")]

    def __str__(self) -> str:
        return f"token#{self.pk} ({self.user_id})"


class UserSession(models.Model):
    """One web login (a browser session), so a user can see where they are logged in and
    end the other ones (退出其他设备). Written at login and logout only, never per request."""

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="web_sessions"
    )
    session_key = models.CharField(_("会话"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("登录时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    address = models.GenericIPAddressField(_("登录地址"), null=True, blank=True)
    user_agent = models.CharField(_("客户端"), max_length=300, blank=True)
    password_fingerprint = models.CharField(_("密码指纹"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
        indexes = [
            models.Index(fields=["user", "created_at"], name="core_usersession_user_created")
        ]

    def __str__(self) -> str:
        return f"session#{self.pk} ({self.user_id})"


class ThrottleScope(models.TextChoices):
    ACCOUNT = "account", _("按账号")
    ADDRESS = "address", _("按地址")


class LoginThrottle(models.Model):
    """Failed logins counted per account (the username typed, normalised) and per client
    address; at the limit the key is locked until ``locked_until``. The web login page and
    POST /api/auth/token share it (salesops/core/throttle.py)."""

    scope = models.CharField(_("类型"), max_length=16, choices=ThrottleScope.choices)
    key = models.CharField(_("账号或地址"), max_length=150)
    failures = models.PositiveIntegerField(_("失败次数"), default=0)
    window_started_at = models.DateTimeField(_("首次失败时间"))
    last_failure_at = models.DateTimeField(_("最近失败时间"))
    locked_at = models.DateTimeField(_("锁定时间"), null=True, blank=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True, db_index=True)
    # The other half of the last failure: the address for an account row, the username
    # for an address row (what the unlock page shows next to the key).
    last_username = models.CharField(_("最近尝试账号"), max_length=150, blank=True)
    last_address = models.GenericIPAddressField(_("最近尝试地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录锁定")
        verbose_name_plural = _("登录锁定")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_loginthrottle_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.key}"

    @property
    def account(self) -> str:
        return self.key if self.scope == ThrottleScope.ACCOUNT else self.last_username

    @property
    def address(self) -> str:
        return self.key if self.scope == ThrottleScope.ADDRESS else (self.last_address or "")


class AuditAction(models.TextChoices):
    CREATE = "create", _("新建")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    APPROVAL = "approval", _("审批")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOCKOUT = "lockout", _("登录锁定")
    UNLOCK = "unlock", _("解除锁定")
    REVOKE = "revoke", _("撤销登录")
    PASSWORD = "password", _("修改密码")
    LOGOUT = "logout", _("退出登录")
    UPLOAD = "upload", _("上传")


class AuditLog(models.Model):
    """One row per changed field (who, when, object, field, before → after)."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    field = models.CharField(_("字段"), max_length=64, blank=True)
    before = models.TextField(_("修改前"), blank=True)
    after = models.TextField(_("修改后"), blank=True)
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} {self.action} {self.field}"


class Notification(models.Model):
    """A message to one user. ``title``/``body`` hold it in the installation's default
    language (what search and exports use); ``texts`` holds it in every UI language,
    ``{"en": [title, body], ...}``, so each reader sees it in their own. Text a person
    typed (a comment, a reply) is the same in every language."""

    user = models.ForeignKey(
        User, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    texts = models.JSONField(_("各语言内容"), default=dict, blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    # ---------------------------------------------------------------------------
    # Approval engine (审批流)
    # ---------------------------------------------------------------------------

    def __str__(self) -> str:
        return self.shown_title

    def _shown(self, index: int, stored: str) -> str:
        text = self.texts.get(translation.get_language() or "")
        return str(text[index]) if isinstance(text, list) and len(text) == 2 else stored

    @property
    def shown_title(self) -> str:
        """The title in the reader's language (the active one)."""
        return self._shown(0, self.title)

    @property
    def shown_body(self) -> str:
        return self._shown(1, self.body)


class SignMode(models.TextChoices):
    SINGLE = "single", _("单人审批")
    COUNTERSIGN = "all", _("会签")  # every approver of the step must approve
    ORSIGN = "any", _("或签")  # any one approver of the step decides


class ApprovalFlow(models.Model):
    """A flow for one document type; the amount thresholds choose between flows."""

    doc_type = models.CharField(_("单据类型"), max_length=64, db_index=True)
    name = models.CharField(_("名称"), max_length=100)
    min_amount = models.DecimalField(
        _("金额下限"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    max_amount = models.DecimalField(
        _("金额上限"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    priority = models.IntegerField(_("优先级"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("审批流程")
        verbose_name_plural = _("审批流程")
        ordering = ["doc_type", "-priority", "id"]

    def __str__(self) -> str:
        return self.name


class ApprovalStep(models.Model):
    flow = models.ForeignKey(
        ApprovalFlow,
        verbose_name=pgettext_lazy("one", "审批流程"),
        on_delete=models.CASCADE,
        related_name="steps",
    )
    order = models.PositiveIntegerField(_("顺序"))
    name = models.CharField(_("节点名称"), max_length=100)
    mode = models.CharField(_("审批方式"), max_length=8, choices=SignMode.choices)
    approver_role = models.ForeignKey(
        Role, verbose_name=_("审批角色"), null=True, blank=True, on_delete=models.PROTECT
    )
    approver_users = models.ManyToManyField(
        User, verbose_name=_("指定审批人"), blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("审批节点")
        verbose_name_plural = _("审批节点")
        ordering = ["flow", "order"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "order"], name="approval_step_order_unique")
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("审批中")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")
    RETURNED = "returned", _("已退回")
    CANCELLED = "cancelled", _("已撤回")


class ApprovalRequest(models.Model):
    doc_type = models.CharField(_("单据类型"), max_length=64)
    object_id = models.CharField(_("单据ID"), max_length=64)
    title = models.CharField(_("标题"), max_length=200)
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2, null=True, blank=True)
    flow = models.ForeignKey(
        ApprovalFlow,
        verbose_name=pgettext_lazy("one", "审批流程"),
        on_delete=models.PROTECT,
        related_name="requests",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    current_step = models.PositiveIntegerField(_("当前节点"), default=1)
    submitted_by = models.ForeignKey(
        User, verbose_name=_("提交人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("审批单")
        verbose_name_plural = _("审批单")
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["doc_type", "object_id"])]

    def __str__(self) -> str:
        return self.title


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("同意")
    REJECTED = "rejected", _("驳回")
    RETURNED = "returned", _("退回")
    SKIPPED = "skipped", _("无需处理")


class ApprovalTask(models.Model):
    """One approver's work item on one step of a request: the inbox row."""

    request = models.ForeignKey(
        ApprovalRequest, verbose_name=_("审批单"), on_delete=models.CASCADE, related_name="tasks"
    )
    step = models.ForeignKey(
        ApprovalStep,
        verbose_name=pgettext_lazy("one", "审批节点"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approver = models.ForeignKey(
        User,
        verbose_name=pgettext_lazy("one", "审批人"),
        on_delete=models.PROTECT,
        related_name="approval_tasks",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING
    )
    acted_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    comment = models.TextField(_("意见"), blank=True)

    class Meta:
        verbose_name = _("审批任务")
        verbose_name_plural = _("审批任务")
        ordering = ["-id"]
        indexes = [models.Index(fields=["approver", "status"])]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.step_id} → {self.approver_id}"


class ApprovalEvent(models.Model):
    """The history shown on the document: submitted, approved, rejected, sent back …"""

    request = models.ForeignKey(
        ApprovalRequest, verbose_name=_("审批单"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    actor = models.ForeignKey(
        User, verbose_name=_("操作人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("操作"), max_length=16)
    step_order = models.PositiveIntegerField(_("节点顺序"), null=True)
    comment = models.TextField(_("意见"), blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action}"


# ---------------------------------------------------------------------------
# Data import jobs (数据导入)
# ---------------------------------------------------------------------------


class ImportJobStatus(models.TextChoices):
    CHECKING = "checking", _("校验中")
    VALIDATED = "validated", _("校验通过")
    INVALID = "invalid", _("校验未通过")
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    """One uploaded file: its dry-run report, then the (background) apply and its progress.

    Live progress of a running apply is kept in a sidecar file next to the upload (no
    write per row); the rows a chunked apply commits stay hidden until it is done.
    """

    entity = models.CharField(_("导入对象"), max_length=32)
    file_path = models.CharField(_("文件"), max_length=300)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已处理行数"), default=0)
    created_count = models.PositiveIntegerField(_("新增数"), default=0)
    updated_count = models.PositiveIntegerField(_("更新数"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    errors = models.JSONField(_("错误明细"), default=list, blank=True)
    report = models.JSONField(_("校验报告"), default=dict, blank=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("导入人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # A running apply's heartbeat: set when a worker claims it and with every chunk it
    # commits. A job RUNNING whose heartbeat is long past had its worker die: the
    # retention job removes the rows it left and fails it (import_files_purge).
    alive_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    # when the retention job removed the upload and its error file
    files_removed_at = models.DateTimeField(_("文件清理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]
        indexes = [
            # the running jobs, whose rows every order list hides (sales.order_scope_q)
            models.Index(fields=["status"], name="core_importjob_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entity}#{self.pk} {self.status}"


class JobRunStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ScheduledJobState(models.Model):
    """When a registered scheduled job (``core.registry.ScheduledJob``) last ran and how it
    ended. The scheduler claims a due job by a conditional update of ``last_started_at``,
    so two schedulers never start the same run twice."""

    key = models.CharField(_("任务"), max_length=64, unique=True)
    last_started_at = models.DateTimeField(_("上次开始"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("上次结束"), null=True, blank=True)
    last_status = models.CharField(
        _("上次结果"), max_length=16, choices=JobRunStatus.choices, blank=True
    )
    last_message = models.TextField(_("上次输出"), blank=True)
    runs = models.PositiveIntegerField(_("运行次数"), default=0)

    class Meta:
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class SavedScene(models.Model):
    """A user's own list scene (筛选条件保存为场景): the list's query string under a name.

    ``query`` is what the list mechanism produced for the state (search, scene, filters,
    date ranges, sort, page size), never free SQL: it is parsed back through the same
    whitelist as a request. At most one default per user and list.
    """

    user = models.ForeignKey(
        User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="saved_scenes"
    )
    list_key = models.CharField(_("列表"), max_length=100)
    name = models.CharField(_("场景名称"), max_length=30)
    query = models.CharField(_("筛选条件"), max_length=1000, blank=True)
    is_default = models.BooleanField(_("默认场景"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("保存的场景")
        verbose_name_plural = _("保存的场景")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_key", "name"], name="savedscene_unique_name"
            ),
            models.UniqueConstraint(
                fields=["user", "list_key"],
                condition=models.Q(is_default=True),
                name="savedscene_one_default",
            ),
        ]
        indexes = [models.Index(fields=["user", "list_key"], name="savedscene_user_list")]

    def __str__(self) -> str:
        return self.name


class ChoiceValue(models.Model):
    """The distinct values a free-text column holds (客户来源 …), one row each, written by
    database triggers on that column's table (``core.db.choices``): a list's filter offers
    them from this small table instead of a ``SELECT DISTINCT`` over a million rows. A value
    no row holds any more stays until removed (the filter then finds nothing)."""

    domain = models.CharField(_("字段"), max_length=64)
    value = models.CharField(_("取值"), max_length=200)

    class Meta:
        verbose_name = _("字段取值")
        verbose_name_plural = _("字段取值")
        constraints = [
            models.UniqueConstraint(fields=["domain", "value"], name="core_choicevalue_unique")
        ]

    def __str__(self) -> str:
        return f"{self.domain}={self.value}"


class Attachment(models.Model):
    """A file attached to an object of any module (a contract, a follow-up …), named by
    ``object_type``/``object_id`` as the audit log names objects. The file lives under
    ``VAR_DIR/attachments/`` at ``path`` (yyyy/mm/random, never the uploaded name); who
    may see or change it is the parent's rule (``core.registry.Attachable``)."""

    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象ID"), max_length=64)
    name = models.CharField(_("文件名"), max_length=200)
    path = models.CharField(_("存储路径"), max_length=200, unique=True)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    # Sniffed from the file's first bytes, never the type the client sent.
    content_type = models.CharField(_("文件类型"), max_length=100)
    sha256 = models.CharField(_("校验值（SHA-256）"), max_length=64)
    uploaded_by = models.ForeignKey(
        User, verbose_name=_("上传人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        indexes = [models.Index(fields=["object_type", "object_id"], name="core_attachment_object")]

    def __str__(self) -> str:
        return self.name
