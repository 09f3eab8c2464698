"""Attachments API (附件): list, upload (multipart), download and delete the files of any
object a module registered (``core.registry.Attachable``: ``sales.contract``,
``crm.activity`` …). The same rules and services as the pages: whoever sees the object
may list and download, whoever may change it may upload and delete; an object or an
attachment outside the caller's scope answers 404."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponseBase
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from salesops.core.api import common as api_common
from salesops.core.api.types import Id
from salesops.core.attachments import (
    MAX_PER_OBJECT,
    attachment_add,
    attachment_delete,
    attachment_for_viewer,
    attachment_parent,
    attachments_of,
    may_edit,
)
from salesops.core.models import Attachment
from salesops.core.views.attachments import attachment_response

router = Router(tags=["attachments"])
ERRORS = {**api_common.ERRORS, 413: api_common.ErrorOut}

ObjectType = Annotated[
    str,
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
        description="对象类型，如 sales.contract（合同）、crm.activity（跟进记录）",
    ),
]


class AttachmentOut(Schema):
    id: int
    object_type: str
    object_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    uploaded_by_id: int | None
    uploaded_by: str
    uploaded_at: datetime.datetime


class AttachmentsOut(Schema):
    count: int
    max_count: int
    can_edit: bool
    items: list[AttachmentOut]


class AttachmentsQuery(Schema):
    object_type: ObjectType
    object_id: Id


class AttachmentIn(Schema):
    object_type: ObjectType
    object_id: Id


def attachment_out(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "object_type": a.object_type,
        "object_id": a.object_id,
        "name": a.name,
        "size": a.size,
        "content_type": a.content_type,
        "sha256": a.sha256,
        "uploaded_by_id": a.uploaded_by_id,
        "uploaded_by": str(a.uploaded_by) if a.uploaded_by is not None else "",
        "uploaded_at": a.uploaded_at,
    }


@router.get("/attachments", response={200: AttachmentsOut, **ERRORS}, summary="附件列表")
def attachments_list(request: HttpRequest, params: Query[AttachmentsQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    attachment_parent(viewer, params.object_type, params.object_id)
    rows = attachments_of(params.object_type, params.object_id)
    return {
        "count": len(rows),
        "max_count": MAX_PER_OBJECT,
        "can_edit": may_edit(viewer, params.object_type, str(params.object_id)),
        "items": [attachment_out(a) for a in rows],
    }


@router.post(
    "/attachments",
    response={201: AttachmentOut, **ERRORS},
    summary="上传附件",
    description="multipart/form-data：object_type、object_id 与文件 file。可上传 PDF、"
    "图片、Office 文档、TXT、CSV 和 ZIP，大小上限见 SALESOPS_ATTACHMENT_MAX_MB。",
)
def attachments_upload(
    request: HttpRequest,
    payload: Form[AttachmentIn],
    file: File[UploadedFile],
) -> Any:
    viewer = api_common.api_viewer(request)
    parent = attachment_parent(viewer, payload.object_type, payload.object_id, edit=True)
    attachment = attachment_add(actor=request.auth, obj=parent, upload=file)  # type: ignore[attr-defined]
    return Status(201, attachment_out(attachment_for_viewer(viewer, attachment.pk)))


@router.get(
    "/attachments/{attachment_id}/download",
    response={200: None, **ERRORS},
    summary="下载附件",
    description="文件本身（Content-Disposition: attachment）。",
)
def attachments_download(request: HttpRequest, attachment_id: Id) -> HttpResponseBase:
    attachment = attachment_for_viewer(api_common.api_viewer(request), attachment_id)
    return attachment_response(attachment)


@router.delete("/attachments/{attachment_id}", response={204: None, **ERRORS}, summary="删除附件")
def attachments_delete(request: HttpRequest, attachment_id: Id) -> Any:
    attachment = attachment_for_viewer(api_common.api_viewer(request), attachment_id)
    attachment_delete(actor=request.auth, attachment=attachment)  # type: ignore[attr-defined]
    return Status(204, None)
