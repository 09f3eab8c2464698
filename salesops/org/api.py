"""Org endpoints: employees, departments, members and their genealogy, sponsor-change
requests. Scope comes from the selectors (out of scope → 404); lists are paginated as
{items, count, page, page_size}; phones are masked unless the viewer has the right."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from salesops.core.access import Viewer, mask_phone
from salesops.core.api.common import MAX_PAGE, PAGE_SIZE
from salesops.core.api.common import api_viewer as _viewer
from salesops.core.api.types import BodyIn, Id, IsoDate, Name32, NotBlank, Search
from salesops.core.errors import ServiceError
from salesops.org import selectors as sel
from salesops.org.access import can_see_personal_info
from salesops.org.models import Department, Employee, Member
from salesops.org.services.sponsor_changes import sponsor_change_request_submit

router = Router(tags=["org"])

MAX_DEPTH = 10_000


class PageIn(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(PAGE_SIZE, ge=1)  # above the maximum: clamped
    q: Search = ""


class DepartmentOut(Schema):
    id: int
    name: str
    code: str
    kind: str
    parent_id: int | None
    depth: int


class EmployeeOut(Schema):
    id: int
    employee_no: str
    name: str
    phone: str
    email: str
    department_id: int
    department_name: str
    manager_id: int | None
    active: bool


class MemberOut(Schema):
    id: int
    member_no: str
    name: str
    phone: str
    sponsor_id: int | None
    depth: int
    downline_count: int
    joined_on: datetime.date
    status: str
    title: str


class EmployeePage(Schema):
    items: list[EmployeeOut]
    count: int
    page: int
    page_size: int


class DepartmentPage(Schema):
    items: list[DepartmentOut]
    count: int
    page: int
    page_size: int


class MemberPage(Schema):
    items: list[MemberOut]
    count: int
    page: int
    page_size: int


class SponsorChangeIn(BodyIn):
    new_sponsor_no: Name32
    effective_on: IsoDate
    reason: Annotated[str, NotBlank, Field(max_length=2000)]


class SponsorChangeOut(Schema):
    id: int
    member_id: int
    new_sponsor_id: int
    effective_on: datetime.date
    status: str


def _bounds(page: int, page_size: int) -> tuple[int, int, int, int]:
    size = min(max(page_size, 1), sel.MAX_PAGE_SIZE)
    page = max(page, 1)
    return page, size, (page - 1) * size, page * size


def _page(qs: QuerySet[Any], params: PageIn, out: Any, count: int | None = None) -> dict:
    page, size, lo, hi = _bounds(params.page, params.page_size)
    return {
        "items": [out(obj) for obj in qs[lo:hi]],
        "count": qs.count() if count is None else count,
        "page": page,
        "page_size": size,
    }


def _employee(viewer: Viewer) -> Any:
    def out(e: Employee) -> dict[str, Any]:
        return {
            "id": e.pk,
            "employee_no": e.employee_no,
            "name": e.name,
            "phone": e.phone if can_see_personal_info(viewer, e.pk) else mask_phone(e.phone),
            "email": e.email,
            "department_id": e.department_id,
            "department_name": e.department.name,
            "manager_id": e.manager_id,
            "active": e.active,
        }

    return out


def _member(viewer: Viewer) -> Any:
    def out(m: Member) -> dict[str, Any]:
        return {
            "id": m.pk,
            "member_no": m.member_no,
            "name": m.name,
            "phone": m.phone if can_see_personal_info(viewer, m.owner_id) else mask_phone(m.phone),
            "sponsor_id": m.sponsor_id,
            "depth": m.depth,
            "downline_count": m.downline_count,
            "joined_on": m.joined_on,
            "status": m.status,
            "title": m.title,
        }

    return out


def _department(d: Department) -> dict[str, Any]:
    return {
        "id": d.pk,
        "name": d.name,
        "code": d.code,
        "kind": d.kind,
        "parent_id": d.parent_id,
        "depth": d.depth,
    }


@router.get("/employees", response=EmployeePage)
def employees_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    viewer = _viewer(request)
    qs = sel.employees_for_viewer(viewer).order_by("employee_no")
    if params.q.strip():
        q = params.q.strip()[:100]
        qs = qs.filter(name__icontains=q) | qs.filter(employee_no__icontains=q)
    return _page(qs, params, _employee(viewer))


@router.get("/employees/{employee_id}", response=EmployeeOut)
def employee_get(request: HttpRequest, employee_id: Id) -> Any:
    viewer = _viewer(request)
    return _employee(viewer)(sel.employee_for_viewer(viewer, employee_id))


@router.get("/departments", response=DepartmentPage)
def departments_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    viewer = _viewer(request)
    qs = sel.departments_for_viewer(viewer)
    if params.q.strip():
        qs = qs.filter(name__icontains=params.q.strip()[:100])
    return _page(qs, params, _department)


@router.get("/members", response=MemberPage)
def members_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    viewer = _viewer(request)
    qs = sel.members_for_viewer(viewer).order_by("member_no")
    if params.q.strip():
        q = params.q.strip()[:100]
        qs = qs.filter(member_no__icontains=q) | qs.filter(name__icontains=q)
    return _page(qs, params, _member(viewer))


@router.get("/members/{member_id}", response=MemberOut)
def member_get(request: HttpRequest, member_id: Id) -> Any:
    viewer = _viewer(request)
    return _member(viewer)(sel.member_for_viewer(viewer, member_id))


class DownlineIn(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(PAGE_SIZE, ge=1)  # above the maximum: clamped
    depth: int | None = Field(None, ge=1, le=MAX_DEPTH)
    # Keyset cursor: the ``next_after`` of the previous page (constant cost at any depth).
    after: str | None = Field(None, max_length=2100)


class DownlinePage(MemberPage):
    next_after: str | None = None


@router.get("/members/{member_id}/downline", response=DownlinePage)
def member_downline(request: HttpRequest, member_id: Id, params: Query[DownlineIn]) -> Any:
    """The member's downline in tree order, to ``depth`` levels when given."""
    viewer = _viewer(request)
    member = sel.member_for_viewer(viewer, member_id)
    if params.depth is not None and params.depth < 1:
        raise ServiceError("invalid", _("层数必须大于 0"), field="depth")
    if params.after is not None and len(params.after) > 2100:
        raise ServiceError("invalid", _("分页游标无效"), field="after")
    count = sel.member_downline_count(viewer, member, depth=params.depth)
    size = min(max(params.page_size, 1), sel.MAX_PAGE_SIZE)
    pg = sel.member_downline_page(
        viewer, member, depth=params.depth, after=params.after, page=params.page, page_size=size
    )
    out = _member(viewer)
    return {
        "items": [out(m) for m in pg.items],
        "count": count,
        "page": max(params.page, 1),
        "page_size": size,
        "next_after": pg.next_after,
    }


@router.get("/members/{member_id}/upline", response=list[MemberOut])
def member_upline(request: HttpRequest, member_id: Id) -> Any:
    """Root → member, as far up as the viewer may see."""
    viewer = _viewer(request)
    member = sel.member_for_viewer(viewer, member_id)
    out = _member(viewer)
    return [out(m) for m in sel.member_upline(viewer, member)]


@router.post(
    "/members/{member_id}/sponsor-change-requests",
    response={201: SponsorChangeOut},
)
def member_sponsor_change_request(
    request: HttpRequest, member_id: Id, payload: SponsorChangeIn
) -> Any:
    viewer = _viewer(request)
    member = sel.member_for_viewer(viewer, member_id)
    new_sponsor = Member.objects.filter(member_no=payload.new_sponsor_no.strip()).first()
    if new_sponsor is None:
        raise ServiceError("not_found", _("新推荐人不存在"), field="new_sponsor_no")
    try:
        req = sponsor_change_request_submit(
            actor=request.auth,  # type: ignore[attr-defined]
            member=member,
            new_sponsor=new_sponsor,
            effective_on=payload.effective_on,
            reason=payload.reason,
        )
    except ServiceError as exc:
        # The service names the object; the client sent ``new_sponsor_no``.
        exc.renamed({"new_sponsor": "new_sponsor_no"})
        raise
    return Status(
        201,
        {
            "id": req.pk,
            "member_id": req.member_id,
            "new_sponsor_id": req.new_sponsor_id,
            "effective_on": req.effective_on,
            "status": req.status,
        },
    )
