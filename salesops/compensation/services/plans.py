"""Plan versions in the app: draft → (approval) → active → superseded.

A plan file's ``[plan] code`` names its family; every upload of that family is a new
version numbered by the database (``max(version) + 1``). A version is written and edited
as a DRAFT, sent for approval (PENDING) and becomes ACTIVE when the approval passes. From
then on it applies to its effective month and every later month up to the effective
month of a newer version; an ACTIVE version whose months are all taken over by a newer
one becomes SUPERSEDED (it still applies to the months before the newer one's start, so
runs of those months, and adjustments of closed ones, keep using it).

The approval callbacks are looked up by name (see ``apps.py``) and run inside the deciding
transaction, so a refusal raised here rolls the decision back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.compensation import doctypes
from salesops.compensation.engine.plan import Plan, PlanError, PlanIssue, RankPlan, parse_plan
from salesops.compensation.models import (
    ACTIVE_RUN_STATUSES,
    CommissionPeriod,
    CommissionRun,
    CompPlanVersion,
    PeriodStatus,
    PlanStatus,
)
from salesops.compensation.rights import is_finance
from salesops.compensation.selectors.plans import (
    SEED_EFFECTIVE_FROM,
    SEED_PLAN_PATH,
    PlanVersionsInForce,
)
from salesops.compensation.services.flows import ensure_flow
from salesops.core.access import viewer_for
from salesops.core.approvals import approval_submit_again
from salesops.core.audit import audit_create, audit_record, snapshot
from salesops.core.errors import FieldError, NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.models import ApprovalRequest, AuditAction, User
from salesops.core.text import require_no_control_chars
from salesops.core.transitions import Transitions, transition

logger = logging.getLogger(__name__)

MAX_PLAN_BYTES = 1_000_000
MAX_SOURCE_NAME = 300
MAX_NOTE = 200
DEFAULT_SOURCE_NAME = "plan.toml"
# Months that are closed, or whose close is being approved, never change.
FROZEN_PERIOD_STATUSES = (PeriodStatus.CLOSED, PeriodStatus.CLOSING)
AUDIT_FIELDS = ("code", "name", "version", "source_path", "effective_from", "status", "note")
# Which status each status may be reached from (a version is created DRAFT; the seed
# ACTIVE). ACTIVE from DRAFT too: a request sent back and resubmitted from the approval
# centre passes while the version is a draft again.
PLAN_MOVES = Transitions(
    PlanStatus,
    {
        PlanStatus.PENDING: (PlanStatus.DRAFT,),
        PlanStatus.ACTIVE: (PlanStatus.PENDING, PlanStatus.DRAFT),
        PlanStatus.SUPERSEDED: (PlanStatus.ACTIVE,),
        PlanStatus.DRAFT: (PlanStatus.PENDING,),
    },
)


class PlanInvalidError(ServiceError):
    """A plan text that cannot be used; ``issues`` lists every problem (file, key, reason).

    ``message`` names every issue as ``file key: reason`` (one per line), ``errors`` carries
    the same lines for forms, and the API body adds ``issues`` as structured rows.
    """

    def __init__(self, issues: Iterable[PlanIssue]) -> None:
        self.issues: list[PlanIssue] = list(issues)
        lines = [issue_line(i) for i in self.issues]
        head = _("方案文件有 %(n)d 处错误：") % {"n": len(lines)}
        super().__init__(
            code="plan_invalid",
            message="\n".join([head, *lines]),
            field="text",
            errors=[FieldError("text", line) for line in lines],
            status=422,
        )

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out["issues"] = [{"file": i.file, "key": i.key, "reason": i.reason} for i in self.issues]
        return out


def issue_line(issue: PlanIssue) -> str:
    return f"{issue.file} {issue.key}: {issue.reason}"


# --------------------------------------------------------------------------- checks


def _require_manager(actor: User) -> None:
    if not is_finance(viewer_for(actor)):
        raise PermissionDeniedError(_("只有财务或管理员可以管理奖金方案"))


def clean_source_name(name: str | None) -> str:
    """The uploaded file's base name (no directories, no control characters)."""
    raw = "".join(ch for ch in (name or "") if ch.isprintable())
    base = PurePosixPath(PureWindowsPath(raw).name).name.strip()
    return base[:MAX_SOURCE_NAME] or DEFAULT_SOURCE_NAME


def decode_plan_text(data: str | bytes) -> str:
    """The plan text as ``str``: at most 1 MB of UTF-8 (a BOM is dropped), without NUL.

    Raises ``ServiceError`` (field ``text``) for anything else, before any parsing.
    """
    too_big = ServiceError(
        code="plan_too_large",
        message=_("方案文件不能超过 1 MB"),
        field="text",
        status=422,
    )
    if isinstance(data, bytes):
        if len(data) > MAX_PLAN_BYTES:
            raise too_big
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ServiceError(
                code="plan_not_utf8",
                message=_("方案文件必须是 UTF-8 编码的文本"),
                field="text",
                status=422,
            ) from None
    else:
        text = data.removeprefix("\ufeff")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800"
            raise ServiceError(
                code="plan_not_utf8",
                message=_("方案文件必须是 UTF-8 编码的文本"),
                field="text",
                status=422,
            ) from None
        if size > MAX_PLAN_BYTES:
            raise too_big
    if "\x00" in text:
        raise ServiceError(
            code="plan_nul",
            message=_("方案文件不能包含空字符（\\x00）"),
            field="text",
            status=422,
        )
    if not text.strip():
        raise ServiceError(
            code="plan_empty", message=_("请上传方案文件或粘贴方案内容"), field="text", status=422
        )
    return text


def parse_plan_text(text: str, source_name: str) -> Plan:
    """Validate a plan text with the engine; every problem becomes one listed issue."""
    try:
        return parse_plan(text, source_name)
    except PlanError as exc:
        raise PlanInvalidError(exc.issues) from None
    except RecursionError:
        issue = PlanIssue(source_name, "(syntax)", "nested too deeply")
        raise PlanInvalidError([issue]) from None
    except Exception as exc:  # hostile text must never become a server error
        logger.warning("plan text %s could not be read", source_name, exc_info=exc)
        issue = PlanIssue(source_name, "(plan)", f"cannot be read: {type(exc).__name__}")
        raise PlanInvalidError([issue]) from None


def _check_month(day: Any) -> dt.date:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime) or day.day != 1:
        raise ServiceError(
            code="invalid_effective_from",
            message=_("生效月份必须是某月的第一天"),
            field="effective_from",
            status=422,
        )
    return day


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ServiceError(
            code="invalid_note",
            message=_("备注最多 %(n)d 个字符") % {"n": MAX_NOTE},
            field="note",
            status=422,
        )
    require_no_control_chars(note, "note")
    return note


def _check_file_version(plan: Plan, *, exclude_pk: int | None = None) -> None:
    """The file's own ``[plan] version`` may not be lower than a stored version of its
    family: that is an old copy of the plan, uploaded by mistake."""
    qs = CompPlanVersion.objects.filter(code=plan.header.code)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    highest = qs.aggregate(m=Max("version"))["m"]
    if highest is not None and plan.header.version < highest:
        raise ServiceError(
            code="plan_version_stale",
            message=_(
                "文件中的版本号 %(file)d 低于已有的版本 v%(db)d：这可能是旧的方案文件，"
                "请把 [plan] version 改为不低于 %(db)d"
            )
            % {"file": plan.header.version, "db": highest},
            field="text",
            status=422,
        )


def _frozen_month_from(first: dt.date) -> dt.date | None:
    """The earliest closed (or closing) month at or after ``first``, if any."""
    return (
        CommissionPeriod.objects.filter(period__gte=first, status__in=FROZEN_PERIOD_STATUSES)
        .order_by("period")
        .values_list("period", flat=True)
        .first()
    )


def _check_activatable(version: CompPlanVersion) -> None:
    """Activation may not change a closed month, nor a run being computed."""
    frozen = _frozen_month_from(version.effective_from)
    if frozen is not None:
        raise ServiceError(
            code="period_closed",
            message=_("%(month)s 已结账（或正在结账），生效月份不能早于或等于已结账的月份")
            % {"month": f"{frozen:%Y-%m}"},
            field="effective_from",
            status=409,
        )
    running = (
        CommissionRun.objects.filter(
            period__gte=version.effective_from, status__in=ACTIVE_RUN_STATUSES
        )
        .order_by("period")
        .values_list("period", flat=True)
        .first()
    )
    if running is not None:
        raise ServiceError(
            code="run_in_progress",
            message=_("%(month)s 的结算正在进行，请等待其完成后再提交")
            % {"month": f"{running:%Y-%m}"},
            status=409,
        )
    newer = (
        CompPlanVersion.objects.filter(
            code=version.code,
            effective_from=version.effective_from,
            version__gt=version.version,
            status__in=(PlanStatus.ACTIVE, PlanStatus.SUPERSEDED),
        )
        .order_by("-version")
        .first()
    )
    if newer is not None:
        # The in-force rule breaks a tie of effective months by the higher version.
        raise ServiceError(
            code="newer_version_same_month",
            message=_("更新的版本 v%(v)d 已从同一月份生效，请新建版本") % {"v": newer.version},
            field="effective_from",
            status=409,
        )


# --------------------------------------------------------------------------- reads


def plan_version_in_force(period: dt.date) -> CompPlanVersion:
    """The rank-plan version that applies to the month of ``period``
    (``selectors.plans.PlanVersionsInForce``); without any stored version, the seed plan
    (created on first use). A superseded version still rules the months before its
    successor's effective month, which is what re-runs and adjustments need.
    """
    return PlanVersionsInForce(until=period).for_month(period) or plan_version_ensure_seed()


def plan_version_ensure_seed(*, path: Path = SEED_PLAN_PATH) -> CompPlanVersion:
    """The seed plan's version in force from the beginning of time, created (active) from
    ``plans/seed-rank-plan.toml`` on first use. Drafts or pending uploads of the same code
    never stand in for it."""
    text = Path(path).read_text(encoding="utf-8")
    plan = parse_plan(text, str(path))
    if not isinstance(plan, RankPlan):
        raise ServiceError(code="plan_not_rank", message=_("种子方案不是职级奖金方案"))
    code = plan.header.code
    in_force = (PlanStatus.ACTIVE, PlanStatus.SUPERSEDED)
    with transaction.atomic():
        found = (
            CompPlanVersion.objects.filter(
                code=code, effective_from=SEED_EFFECTIVE_FROM, status__in=in_force
            )
            .order_by("version")
            .first()
        )
        if found is not None:
            return found
        taken = CompPlanVersion.objects.filter(code=code).aggregate(m=Max("version"))["m"]
        version = CompPlanVersion.objects.create(
            code=code,
            version=max(plan.header.version, (taken or 0) + 1),
            name=plan.header.name,
            source_path=Path(path).name,
            text=text,
            effective_from=SEED_EFFECTIVE_FROM,
            status=PlanStatus.ACTIVE,
        )
        audit_create(actor=None, obj=version, fields=["code", "name", "version", "status"])
    return version


# --------------------------------------------------------------------------- drafts


def _locked(pk: int) -> CompPlanVersion:
    found = CompPlanVersion.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFoundError(_("奖金方案版本不存在"))
    return found


def _require_draft(version: CompPlanVersion) -> None:
    if version.status != PlanStatus.DRAFT:
        raise ServiceError(
            code="plan_not_draft",
            message=_("只有草稿状态的方案可以修改、删除或提交生效"),
            status=409,
        )


@transaction.atomic
def plan_version_create(
    *,
    actor: User,
    text: str | bytes,
    source_name: str,
    effective_from: dt.date,
    note: str = "",
) -> CompPlanVersion:
    """Save a validated plan text as a new DRAFT version of its family.

    The family is the file's ``[plan] code``; the stored version is the family's highest
    version + 1 (1 for a new family). The file's own ``[plan] version`` is kept in the text
    as written and must not be lower than the family's highest stored version (a lower
    one is an old copy uploaded by mistake); it need not equal the stored number.
    Nothing is stored when anything is wrong.
    """
    _require_manager(actor)
    source = clean_source_name(source_name)
    body = decode_plan_text(text)
    plan = parse_plan_text(body, source)
    first = _check_month(effective_from)
    clean_note = _clean_note(note)
    code = plan.header.code
    # Serialise numbering within the family; the unique (code, version) backs this up.
    list(CompPlanVersion.objects.select_for_update().filter(code=code).values_list("pk"))
    _check_file_version(plan)
    highest = CompPlanVersion.objects.filter(code=code).aggregate(m=Max("version"))["m"] or 0
    try:
        with transaction.atomic():
            version = CompPlanVersion.objects.create(
                code=code,
                name=plan.header.name[:120],
                version=highest + 1,
                source_path=source,
                text=body,
                effective_from=first,
                status=PlanStatus.DRAFT,
                note=clean_note,
                created_by=actor,
            )
    except IntegrityError:
        raise ServiceError(
            code="plan_version_conflict",
            message=_("同一方案正被他人同时上传，请重试"),
            status=409,
        ) from None
    audit_create(actor=actor, obj=version, fields=AUDIT_FIELDS)
    return version


@transaction.atomic
def plan_version_update_draft(
    *,
    actor: User,
    version: CompPlanVersion,
    text: str | bytes | None = None,
    source_name: str | None = None,
    effective_from: dt.date | None = None,
    note: str | None = None,
) -> CompPlanVersion:
    """Replace a DRAFT's text, effective month or note (the family code cannot change)."""
    _require_manager(actor)
    obj = _locked(version.pk)
    _require_draft(obj)
    before = snapshot(obj, (*AUDIT_FIELDS, "text"))
    if text is not None:
        source = clean_source_name(source_name if source_name is not None else obj.source_path)
        body = decode_plan_text(text)
        plan = parse_plan_text(body, source)
        if plan.header.code != obj.code:
            raise ServiceError(
                code="plan_code_changed",
                message=_("方案代码不能修改（本版本属于 %(code)s）；其他方案请新建")
                % {"code": obj.code},
                field="text",
                status=422,
            )
        _check_file_version(plan, exclude_pk=obj.pk)
        obj.text, obj.source_path, obj.name = body, source, plan.header.name[:120]
    if effective_from is not None:
        obj.effective_from = _check_month(effective_from)
    if note is not None:
        obj.note = _clean_note(note)
    obj.save(update_fields=["text", "source_path", "name", "effective_from", "note"])
    after = snapshot(obj, before.keys())
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if "text" in changes:
        # The audit row records that the text changed, not a megabyte twice.
        changes["text"] = (f"{len(before['text'])} chars", f"{len(after['text'])} chars")
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes)
    version.refresh_from_db()
    return obj


@transaction.atomic
def plan_version_delete_draft(*, actor: User, version: CompPlanVersion) -> None:
    """Delete a DRAFT (never a version that was submitted and is in use)."""
    _require_manager(actor)
    obj = _locked(version.pk)
    _require_draft(obj)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=obj,
        changes={k: (v, "") for k, v in snapshot(obj, AUDIT_FIELDS).items()},
    )
    obj.delete()


# --------------------------------------------------------------------------- activation


def _set_status(
    obj: CompPlanVersion, status: str, *, actor: User | None, note: str, **extra: Any
) -> None:
    transition(obj, status, allowed=PLAN_MOVES, actor=actor, note=note, **extra)


def activation_title(version: CompPlanVersion) -> str:
    return _("奖金方案生效：%(name)s v%(v)d（%(month)s 起）") % {
        "name": version.name,
        "v": version.version,
        "month": f"{version.effective_from:%Y-%m}",
    }


def activation_request_of(version: CompPlanVersion) -> ApprovalRequest | None:
    """The latest approval request of this version's activation, if any."""
    return (
        ApprovalRequest.objects.filter(doc_type=doctypes.PLAN_ACTIVATION, object_id=str(version.pk))
        .order_by("-submitted_at", "-id")
        .first()
    )


@transaction.atomic
def plan_activation_submit(*, actor: User, version: CompPlanVersion) -> ApprovalRequest:
    """Send a DRAFT for activation approval (DRAFT → PENDING).

    Refused when its effective month or a later one is closed (or being closed), or is
    being computed. A request that an approver sent back (退回) to this submitter is
    resubmitted rather than duplicated.
    """
    _require_manager(actor)
    obj = _locked(version.pk)
    _require_draft(obj)
    _check_activatable(obj)
    _set_status(obj, PlanStatus.PENDING, actor=actor, note="submit")
    ensure_flow(doctypes.PLAN_ACTIVATION)
    request = approval_submit_again(
        actor=actor,
        doc_type=doctypes.PLAN_ACTIVATION,
        object_id=obj.pk,
        title=activation_title(obj),
    )
    version.refresh_from_db()
    return request


def _version_of(request: ApprovalRequest) -> CompPlanVersion:
    try:
        pk = int(request.object_id)
    except ValueError:
        pk = 0
    return _locked(pk)


def plan_activation_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    """The approval passed: the version becomes ACTIVE from its effective month.

    Every other ACTIVE version of the family whose effective month is on or before the new
    one's is SUPERSEDED; one that starts later stays ACTIVE (it still takes over from its
    own month on). Closed months are checked again: one may have closed since submission.
    """
    obj = _version_of(request)
    if not PLAN_MOVES.allows(obj.status, PlanStatus.ACTIVE):
        raise ServiceError(code="plan_not_pending", message=_("该方案版本不在审批中"), status=409)
    _check_activatable(obj)
    now = timezone.now()
    older = (
        CompPlanVersion.objects.select_for_update()
        .filter(code=obj.code, status=PlanStatus.ACTIVE, effective_from__lte=obj.effective_from)
        .exclude(pk=obj.pk)
        .order_by("pk")
    )
    for other in older:
        _set_status(
            other,
            PlanStatus.SUPERSEDED,
            actor=actor,
            note=f"superseded by v{obj.version}",
        )
    _set_status(obj, PlanStatus.ACTIVE, actor=actor, note="approved", activated_at=now)


def _back_to_draft(request: ApprovalRequest, actor: User | None, note: str) -> None:
    obj = _version_of(request)
    if obj.status == PlanStatus.PENDING:
        _set_status(obj, PlanStatus.DRAFT, actor=actor, note=note)


def plan_activation_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back_to_draft(request, actor, "rejected")


def plan_activation_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back_to_draft(request, actor, "returned")


def plan_activation_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back_to_draft(request, actor, "cancelled")
