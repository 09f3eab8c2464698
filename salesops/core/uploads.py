"""Uploads refused while they stream in: the first upload handler stops reading a request as
soon as its body passes ``SALESOPS_IMPORT_MAX_MB``, so a 2 GB upload is never read (nor
stored) whole. The view (or the API's validation handler) then finds the reason on the
request with ``upload_refusal``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.utils.translation import gettext as _

# The multipart envelope around a file (boundaries, part headers, small form fields).
ENVELOPE = 64 * 1024
_ATTR = "salesops_upload_refused"


def upload_limit_bytes() -> int:
    return int(settings.SALESOPS_IMPORT_MAX_MB) * 1024 * 1024


def too_large_message() -> str:
    return _("文件过大：最大允许 %(mb)s MB，请拆分后分批导入") % {
        "mb": settings.SALESOPS_IMPORT_MAX_MB
    }


def upload_refusal(request: HttpRequest) -> str | None:
    """Why the request's upload was refused (``None`` when it was not)."""
    return getattr(request, _ATTR, None)


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of every file in the request; past the limit the upload stops
    (``StopUpload``: the parser closes and drops what it had, the rest is never read)."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.limit = upload_limit_bytes()
        self.received = 0
        # A declared length past the limit: refuse at the first file, without reading it.
        self.declared_too_large = content_length > self.limit + ENVELOPE
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.declared_too_large:
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, _ATTR, too_large_message())
        raise StopUpload(connection_reset=True)
