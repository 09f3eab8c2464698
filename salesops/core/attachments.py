"""Attachments (附件) of any module's objects: a contract's scanned copy, a follow-up's
photos. Core stores and serves the files; who may see or change them is the parent's rule,
which its module registers (``core.registry.Attachable``): whoever may see the parent may
list and download, whoever may change it may upload and delete, and an object outside
the viewer's scope is a 404 like the object itself.

An upload is copied chunk by chunk under ``VAR_DIR/attachments/<yyyy>/<mm>/<random>``
(never whole in memory, never under the name it came with), its size capped while it
streams (``SALESOPS_ATTACHMENT_MAX_MB``), its type sniffed from its first bytes and checked
against its extension (the client's content type is not believed), and only the kinds of
files people attach to contracts and follow-ups are taken: no program, script, web page or
SVG, which a browser could run. Uploads and deletions are audited on the parent, so its
操作记录 reads "上传 附件 合同.pdf".
"""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core import registry
from salesops.core.access import Viewer, viewer_for
from salesops.core.audit import audit_record, object_type_of
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.models import Attachment, AuditAction, User

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

# At most this many files on one object (a contract's scans, a visit's photos).
MAX_PER_OBJECT = 50
NAME_MAX = 200
CHUNK = 64 * 1024
# The bytes read to tell a file's type (and to find a script in a text file).
HEAD = 8 * 1024
# A file under var/attachments/ that no attachment names is removed once this old (an
# upload whose transaction rolled back, a copy a crash cut short).
STRAY_AGE = datetime.timedelta(days=1)
SWEEP_BATCH = 1000

# What may be attached, by extension, and the content type it is served with.
ALLOWED: dict[str, str] = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "csv": "text/csv",
    "zip": "application/zip",
}
# Refused with a word on why: a browser or the desktop would run them.
# fmt: off
DANGEROUS = frozenset({
    "exe", "dll", "com", "bat", "cmd", "msi", "msp", "scr", "cpl", "pif", "ps1", "psm1", "vbs",
    "vbe", "js", "jse", "mjs", "wsf", "wsh", "hta", "lnk", "reg", "jar", "apk", "app", "sh",
    "bash", "csh", "zsh", "py", "pl", "rb", "php", "phtml", "asp", "aspx", "jsp", "cgi", "html",
    "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "swf",
})
# fmt: on
# The folder an Office Open XML file keeps its parts in.
_OOXML_FOLDER = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# What a web page or an SVG image starts with, after its "<".
_MARKUP = ("!doctype", "html", "head", "body", "script", "svg", "?xml", "iframe")
_KIND_LABEL: dict[str, Any] = {
    "pdf": "PDF",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "doc": "Word",
    "docx": "Word",
    "xls": "Excel",
    "xlsx": "Excel",
    "ppt": "PowerPoint",
    "pptx": "PowerPoint",
    "txt": gettext_lazy("文本"),
    "csv": "CSV",
    "zip": "ZIP",
}
# Characters Windows refuses in a file name (the download is saved under this name).
_RESERVED = set('<>:"/\\|?*')


def max_bytes() -> int:
    return int(settings.SALESOPS_ATTACHMENT_MAX_MB) * 1024 * 1024


def attachments_root() -> Path:
    return Path(settings.VAR_DIR) / "attachments"


def accept_attribute() -> str:
    """The file input's ``accept`` (a hint to the browser's picker; the server decides)."""
    return ",".join(f".{ext}" for ext in ALLOWED)


def allowed_text() -> str:
    return _(
        "可上传 PDF、图片（JPG/PNG/GIF/WEBP）、Office 文档（DOC/DOCX/XLS/XLSX/PPT/PPTX）、"
        "TXT、CSV 和 ZIP，单个文件不超过 %(mb)s MB，每条记录最多 %(n)d 个"
    ) % {"mb": settings.SALESOPS_ATTACHMENT_MAX_MB, "n": MAX_PER_OBJECT}


# ------------------------------------------------------------------------ who may


def _attachable(object_type: str) -> registry.Attachable:
    entry = registry.attachables().get(object_type)
    if entry is None:
        raise NotFoundError(_("对象不存在或无权访问"))
    return entry


def may_view(viewer: Viewer, object_type: str, object_id: str) -> bool:
    entry = registry.attachables().get(object_type)
    return entry is not None and bool(entry.can_view(viewer, str(object_id)))


def may_edit(viewer: Viewer, object_type: str, object_id: str) -> bool:
    entry = registry.attachables().get(object_type)
    return (
        entry is not None
        and bool(entry.can_view(viewer, str(object_id)))
        and bool(entry.can_edit(viewer, str(object_id)))
    )


def _require(viewer: Viewer, object_type: str, object_id: str, *, edit: bool) -> None:
    entry = _attachable(object_type)
    if not entry.can_view(viewer, object_id):
        raise NotFoundError(_("对象不存在或无权访问"))
    if edit and not entry.can_edit(viewer, object_id):
        raise PermissionDeniedError(_("没有权限修改该记录的附件"))


def attachment_parent(
    viewer: Viewer, object_type: str, object_id: object, *, edit: bool = False
) -> models.Model:
    """The object named by a request (type and id), when the viewer may see it (else
    ``NotFoundError``) and, with ``edit``, change its attachments (else 403)."""
    oid = str(object_id)
    _require(viewer, object_type, oid, edit=edit)
    model = apps.get_model(object_type)
    try:
        return model._default_manager.get(pk=oid)  # type: ignore[no-any-return]
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("对象不存在或无权访问")) from None


def attachment_for_viewer(viewer: Viewer, pk: object) -> Attachment:
    """One attachment whose parent the viewer may see; any other id is a 404."""
    try:
        attachment = Attachment.objects.select_related("uploaded_by").get(pk=int(str(pk)))
    except (Attachment.DoesNotExist, ValueError, OverflowError):
        raise NotFoundError(_("附件不存在或无权访问")) from None
    if not may_view(viewer, attachment.object_type, attachment.object_id):
        raise NotFoundError(_("附件不存在或无权访问"))
    return attachment


# --------------------------------------------------------------------------- reads


def attachments_of(object_type: str, object_id: object) -> list[Attachment]:
    """The attachments of one object the caller already may see, oldest first."""
    return list(
        Attachment.objects.filter(object_type=object_type, object_id=str(object_id))
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )


def attachments_by_object(object_type: str, ids: Iterable[object]) -> dict[str, list[Attachment]]:
    """The attachments of several objects of one type (a timeline's follow-ups) in one
    query, by object id (text)."""
    keys = [str(i) for i in ids]
    out: dict[str, list[Attachment]] = {k: [] for k in keys}
    if not keys:
        return out
    rows = (
        Attachment.objects.filter(object_type=object_type, object_id__in=keys)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )
    for row in rows:
        out[row.object_id].append(row)
    return out


@dataclass
class AttachmentBlock:
    """What the 附件 block of one object shows (``core/attachments/_block.html``)."""

    object_type: str
    object_id: str
    items: list[Attachment]
    can_edit: bool
    error: str = ""
    notice: str = ""
    compact: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return f"attachments-{self.object_type.replace('.', '-')}-{self.object_id}"

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_PER_OBJECT

    @property
    def accept(self) -> str:
        return accept_attribute()

    @property
    def hint(self) -> str:
        return allowed_text()


def attachment_block(
    viewer: Viewer,
    obj: models.Model,
    *,
    items: list[Attachment] | None = None,
    can_edit: bool | None = None,
    **extra: Any,
) -> AttachmentBlock:
    """The block of an object the viewer already may see; ``items``/``can_edit`` when the
    caller has them at hand (a timeline loads every row's attachments in one query)."""
    otype, oid = object_type_of(obj), str(obj.pk)
    return AttachmentBlock(
        object_type=otype,
        object_id=oid,
        items=attachments_of(otype, oid) if items is None else items,
        can_edit=may_edit(viewer, otype, oid) if can_edit is None else can_edit,
        **extra,
    )


def attachment_file(attachment: Attachment) -> Path:
    """The stored file (inside the attachments folder, whatever the row says)."""
    root = attachments_root().resolve()
    path = (root / attachment.path).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFoundError(_("附件文件不存在，请联系管理员"))
    return path


def content_disposition(name: str) -> str:
    """A download under the uploaded name: UTF-8 for every client that reads RFC 5987's
    ``filename*``, and an ASCII fallback for those that do not."""
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    plain = "".join(c for c in name if 32 <= ord(c) < 127 and c not in '"\\;')
    if not plain.strip(" .") or plain.strip(" .") == ext:
        plain = f"attachment.{ext}" if ext else "attachment"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


# ------------------------------------------------------------------ checking a file


def clean_name(raw: str) -> str:
    """The uploaded name as stored and offered on download: no folder part (``../``,
    ``C:\\``), no control or bidi-override characters (``exe\u202efdp.pdf``), none that
    Windows refuses, at most 200 characters with the extension kept."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if c in _RESERVED else c
        for c in name
        if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")
    )
    name = " ".join(name.split()).strip(" .")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: NAME_MAX - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:NAME_MAX]
    return name


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _refuse(code: str, message: str, status: int = 400) -> ServiceError:
    return ServiceError(code, message, field="file", status=status)


def _check_name(raw: str) -> tuple[str, str]:
    name = clean_name(raw)
    ext = _extension(name)
    shown = name or raw[:NAME_MAX]
    if not name:
        raise _refuse("invalid_name", _("文件名无效，请重命名后再上传"))
    if ext in DANGEROUS:
        raise _refuse(
            "file_type",
            _("出于安全原因，不能上传程序、脚本、网页（HTML）或 SVG 图片：%(name)s")
            % {"name": shown},
        )
    if ext not in ALLOWED:
        raise _refuse(
            "file_type",
            _("不支持的文件类型：%(name)s。%(allowed)s")
            % {"name": shown, "allowed": allowed_text()},
        )
    return name, ext


def _too_large(name: str) -> ServiceError:
    return _refuse(
        "too_large",
        _("文件过大：%(name)s 超过 %(mb)s MB")
        % {"name": name, "mb": settings.SALESOPS_ATTACHMENT_MAX_MB},
        status=413,
    )


def _check_content(name: str, ext: str, head: bytes, fh: IO[bytes]) -> str:
    """The content type the file's own bytes show, which must be the extension's (a
    program renamed .pdf has no PDF header; one renamed .txt holds NUL bytes); a text file
    that is a web page or a script is refused too."""
    mismatch = _refuse(
        "content_mismatch",
        _("文件内容与扩展名不符：%(name)s 不是有效的 %(kind)s 文件")
        % {"name": name, "kind": _KIND_LABEL[ext]},
    )
    dangerous = _refuse(
        "file_type", _("出于安全原因，不能上传程序或网页内容：%(name)s") % {"name": name}
    )
    if ext in ("txt", "csv"):
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        if not utf16 and b"\x00" in head:
            raise mismatch  # a binary file named .txt
        text = head.decode("utf-16" if utf16 else "utf-8", errors="ignore")
        start = text.lstrip("\ufeff \t\r\n").lower()
        if (start.startswith("<") and start[1:].startswith(_MARKUP)) or start.startswith("#!"):
            raise dangerous
        return ALLOWED[ext]
    ok = {
        "pdf": b"%PDF-" in head[:1024],
        "jpg": head.startswith(b"\xff\xd8\xff"),
        "jpeg": head.startswith(b"\xff\xd8\xff"),
        "png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "gif": head.startswith((b"GIF87a", b"GIF89a")),
        "webp": head[:4] == b"RIFF" and head[8:12] == b"WEBP",
        "doc": head.startswith(_OLE2),
        "xls": head.startswith(_OLE2),
        "ppt": head.startswith(_OLE2),
    }.get(ext)
    if ok is not None:
        if not ok:
            raise mismatch
        return ALLOWED[ext]
    # zip and the Office Open XML formats (zips with their parts in a known folder)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise mismatch
    try:
        fh.seek(0)
        with zipfile.ZipFile(fh) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise mismatch from None
    finally:
        fh.seek(0)
    folder = _OOXML_FOLDER.get(ext)
    if folder and (
        "[Content_Types].xml" not in names or not any(n.startswith(folder) for n in names)
    ):
        raise mismatch
    return ALLOWED[ext]


def attachment_check(upload: UploadedFile) -> str:
    """Check an upload before anything is written (name, type, size, content) and return
    its cleaned name: a form that logs a follow-up with files refuses them all before it
    creates anything. ``attachment_add`` checks again as it stores."""
    name, ext = _check_name(upload.name or "")
    if upload.size is not None and upload.size > max_bytes():
        raise _too_large(name)
    if not upload.size:
        raise _refuse("empty", _("文件为空：%(name)s") % {"name": name})
    upload.seek(0)
    head = upload.read(HEAD)
    _check_content(name, ext, head, upload.file)  # type: ignore[arg-type]
    upload.seek(0)
    return name


# ---------------------------------------------------------------------------- writes


@dataclass(frozen=True)
class _Stored:
    path: str  # relative to the attachments folder
    size: int
    sha256: str
    content_type: str


def _store(name: str, ext: str, chunks: Iterable[bytes]) -> _Stored:
    """Copy the chunks to a new file, checking size and content; nothing is left behind
    when it is refused."""
    now = timezone.now()
    rel = f"{now:%Y}/{now:%m}/{secrets.token_hex(16)}"
    final = attachments_root() / rel
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    limit = max_bytes()
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with part.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large(name)
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise _refuse("empty", _("文件为空：%(name)s") % {"name": name})
        with part.open("rb") as fh:
            content_type = _check_content(name, ext, head, fh)
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return _Stored(rel, size, digest.hexdigest(), content_type)


def _lock_parent(obj: models.Model) -> None:
    list(type(obj)._default_manager.select_for_update().filter(pk=obj.pk).values_list("pk"))


@transaction.atomic
def attachment_add(*, actor: User | None, obj: models.Model, upload: UploadedFile) -> Attachment:
    """Attach an upload to ``obj`` (of a registered type) for an actor who may change it.
    Codes: ``not_found`` (404), ``permission_denied`` (403), ``file_type``,
    ``content_mismatch``, ``invalid_name``, ``empty``, ``too_many``, ``too_large`` (413)."""
    otype, oid = object_type_of(obj), str(obj.pk)
    _attachable(otype)
    if actor is not None:
        _require(viewer_for(actor), otype, oid, edit=True)
    name, ext = _check_name(upload.name or "")
    _lock_parent(obj)
    if Attachment.objects.filter(object_type=otype, object_id=oid).count() >= MAX_PER_OBJECT:
        raise _refuse(
            "too_many", _("每条记录最多 %(n)d 个附件，请先删除不需要的") % {"n": MAX_PER_OBJECT}
        )
    stored = _store(name, ext, upload.chunks(CHUNK))
    try:
        attachment = Attachment.objects.create(
            object_type=otype,
            object_id=oid,
            name=name,
            path=stored.path,
            size=stored.size,
            content_type=stored.content_type,
            sha256=stored.sha256,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit_record(
            actor=actor, action=AuditAction.UPLOAD, obj=obj, changes={"attachment": ("", name)}
        )
    except BaseException:
        (attachments_root() / stored.path).unlink(missing_ok=True)
        raise
    return attachment


def _parent_or_none(object_type: str, object_id: str) -> models.Model | None:
    try:
        model = apps.get_model(object_type)
        return model._default_manager.filter(pk=object_id).first()  # type: ignore[no-any-return]
    except (LookupError, ValueError, TypeError):
        return None


def _unlink_on_commit(rel: str) -> None:
    path = attachments_root() / rel
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


@transaction.atomic
def attachment_delete(*, actor: User | None, attachment: Attachment) -> None:
    """Remove an attachment (the file goes once the removal is committed), for an actor
    who may change its parent; audited on the parent."""
    otype, oid = attachment.object_type, attachment.object_id
    if actor is not None:
        _require(viewer_for(actor), otype, oid, edit=True)
    deleted, _rows = Attachment.objects.filter(pk=attachment.pk).delete()
    if not deleted:
        raise NotFoundError(_("附件不存在或无权访问"))
    parent = _parent_or_none(otype, oid)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=parent,
        object_type=otype,
        object_id=oid,
        changes={"attachment": (attachment.name, "")},
    )
    _unlink_on_commit(attachment.path)


# ---------------------------------------------------------------------------- sweep


def _existing_ids(model: type[models.Model], ids: set[str]) -> set[str]:
    pks = []
    for raw in ids:
        try:
            pks.append(model._meta.pk.to_python(raw))  # type: ignore[union-attr]
        except (ValidationError, TypeError, ValueError):
            continue  # an id that is no pk names no row
    found = model._default_manager.filter(pk__in=pks).values_list("pk", flat=True)
    return {str(pk) for pk in found}


def _sweep_orphans() -> int:
    removed = 0
    note = _("所属记录已不存在，附件已清理")
    for object_type in registry.attachables():
        model = apps.get_model(object_type)
        last = 0
        while True:
            rows = list(
                Attachment.objects.filter(object_type=object_type, pk__gt=last)
                .order_by("pk")
                .values_list("pk", "object_id", "name", "path")[:SWEEP_BATCH]
            )
            if not rows:
                break
            last = rows[-1][0]
            existing = _existing_ids(model, {r[1] for r in rows})
            gone = [r for r in rows if r[1] not in existing]
            if not gone:
                continue
            with transaction.atomic():
                Attachment.objects.filter(pk__in=[r[0] for r in gone]).delete()
                for _pk, object_id, name, rel in gone:
                    audit_record(
                        actor=None,
                        action=AuditAction.DELETE,
                        object_type=object_type,
                        object_id=object_id,
                        changes={"attachment": (name, "")},
                        note=note,
                    )
                    _unlink_on_commit(rel)
            removed += len(gone)
    return removed


def _sweep_strays(now: datetime.datetime) -> int:
    root = attachments_root()
    if not root.is_dir():
        return 0
    cutoff = (now - STRAY_AGE).timestamp()
    removed = 0
    batch: dict[str, Path] = {}

    def flush() -> int:
        named = set(Attachment.objects.filter(path__in=list(batch)).values_list("path", flat=True))
        n = 0
        for rel, path in batch.items():
            if rel not in named:
                path.unlink(missing_ok=True)
                n += 1
        batch.clear()
        return n

    for path in root.glob("*/*/*"):
        try:
            old = path.is_file() and path.stat().st_mtime < cutoff
        except OSError:
            continue
        if old:
            batch[path.relative_to(root).as_posix()] = path
            if len(batch) >= SWEEP_BATCH:
                removed += flush()
    if batch:
        removed += flush()
    return removed


def attachments_purge(*, now: datetime.datetime) -> str:
    """Scheduled job (``core.attachments_purge``): remove the attachments whose parent no
    longer exists (a record deleted or merged away), audited on the parent's type and id,
    and every file under var/attachments/ older than a day that no attachment names.
    Idempotent."""
    orphans = _sweep_orphans()
    strays = _sweep_strays(now)
    return f"orphans={orphans} stray_files={strays}"
