"""Pages of attachments (附件): the block a detail page shows (``attachments_part``, a
``DetailPart`` render any module may register), the upload and delete posts (htmx swaps
the block; without JavaScript they redirect back) and the download."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.core.access import request_viewer
from salesops.core.attachments import (
    AttachmentBlock,
    attachment_add,
    attachment_block,
    attachment_delete,
    attachment_file,
    attachment_for_viewer,
    attachment_parent,
    content_disposition,
)
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.models import Attachment
from salesops.core.uploads import upload_refusal

BLOCK = "core/attachments/_block.html"


def attachment_response(attachment: Attachment) -> FileResponse:
    """The stored file as a download, never shown inline: under its uploaded name, with
    the sniffed type, ``nosniff``, not cached, and sandboxed should a browser open it."""
    response = FileResponse(
        attachment_file(attachment).open("rb"), content_type=attachment.content_type
    )
    response["Content-Disposition"] = content_disposition(attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def render_block(request: HttpRequest, block: AttachmentBlock) -> str:
    return render_to_string(BLOCK, {"att": block, "next": request.get_full_path()}, request=request)


def attachments_part(request: HttpRequest, obj: models.Model) -> str:
    """A detail page's 附件 tab (register as ``DetailPart(<type>, "attachments", …)``); the
    page has already checked that the viewer sees ``obj``."""
    return render_block(request, attachment_block(request_viewer(request), obj))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _answer(
    request: HttpRequest, parent: models.Model, *, compact: bool, **said: Any
) -> HttpResponse:
    """htmx: the block again, with what happened; a plain post: back to the page."""
    if request.headers.get("HX-Request"):
        viewer = request_viewer(request)
        block = attachment_block(viewer, parent, compact=compact, **said)
        html = render_to_string(BLOCK, {"att": block, "next": _back(request)}, request=request)
        return HttpResponse(html, status=200)
    if said.get("error"):
        messages.error(request, said["error"])
    elif said.get("notice"):
        messages.success(request, said["notice"])
    return redirect(_back(request))


def _guard(fn: Any) -> Any:
    """Our service errors as pages: out of scope 404, no right 403."""
    try:
        return fn()
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from exc
    except PermissionDeniedError as exc:
        raise PermissionDenied(str(exc.message)) from exc


@login_required
@require_POST
def attachment_upload(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    object_type = request.POST.get("object_type", "")
    object_id = request.POST.get("object_id", "")
    parent = _guard(lambda: attachment_parent(viewer, object_type, object_id, edit=True))
    compact = request.POST.get("compact") == "1"
    files = request.FILES.getlist("file")
    if upload_refusal(request):
        return _answer(request, parent, compact=compact, error=_("文件过大，请压缩或拆分后再上传"))
    if not files:
        return _answer(request, parent, compact=compact, error=_("请选择要上传的文件"))
    done: list[Any] = []
    for upload in files:
        try:
            attachment_add(actor=request.user, obj=parent, upload=upload)  # type: ignore[arg-type]
        except PermissionDeniedError as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except ServiceError as exc:
            error = str(exc.message)
            if done:
                error = _("已上传 %(n)d 个文件；%(error)s") % {"n": len(done), "error": error}
            return _answer(request, parent, compact=compact, error=error)
        done.append(upload)
    return _answer(
        request, parent, compact=compact, notice=_("已上传 %(n)d 个附件") % {"n": len(done)}
    )


@login_required
@require_POST
def attachment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    attachment = _guard(lambda: attachment_for_viewer(viewer, pk))
    parent = _guard(lambda: attachment_parent(viewer, attachment.object_type, attachment.object_id))
    _guard(lambda: attachment_delete(actor=request.user, attachment=attachment))  # type: ignore[arg-type]
    compact = request.POST.get("compact") == "1"
    notice = _("附件已删除：%(name)s") % {"name": attachment.name}
    return _answer(request, parent, compact=compact, notice=notice)


@login_required
def attachment_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    attachment = _guard(lambda: attachment_for_viewer(viewer, pk))
    return _guard(lambda: attachment_response(attachment))  # type: ignore[no-any-return]
