"""Saved scenes (筛选条件保存为场景): a user's named list queries, one default per list.

Writes only; the list mechanism reads them through ``core.selectors.saved_scenes_for``.
A scene belongs to its user alone: every service takes the acting user and touches only
that user's rows, so nobody can read, rename or delete another person's scene.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record
from salesops.core.errors import NotFoundError, ServiceError
from salesops.core.models import AuditAction, SavedScene, User
from salesops.core.text import require_no_control_chars

MAX_SCENES_PER_LIST = 20
_AUDITED = ("list_key", "name", "query", "is_default")


def _own(actor: User, pk: int) -> SavedScene:
    try:
        return SavedScene.objects.select_for_update().get(pk=pk, user=actor)
    except SavedScene.DoesNotExist as exc:
        raise NotFoundError(_("场景不存在")) from exc


def _clear_default(actor: User, list_key: str) -> None:
    SavedScene.objects.filter(user=actor, list_key=list_key, is_default=True).update(
        is_default=False
    )


@transaction.atomic
def saved_scene_create(
    *, actor: User, list_key: str, name: str, query: str, is_default: bool = False
) -> SavedScene:
    """Save the list's current query under a name; a new default replaces the old one."""
    name = name.strip()
    if not name:
        raise ServiceError("required", _("请填写场景名称"), field="name")
    require_no_control_chars(name, "name")
    if len(name) > SavedScene._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ServiceError("too_long", _("场景名称最多 30 个字"), field="name")
    if len(query) > SavedScene._meta.get_field("query").max_length:  # type: ignore[operator]
        raise ServiceError("too_long", _("筛选条件过长，无法保存"), field="query")
    mine = SavedScene.objects.filter(user=actor, list_key=list_key)
    if mine.count() >= MAX_SCENES_PER_LIST:
        raise ServiceError(
            "too_many",
            _("每个列表最多保存 %(n)d 个场景") % {"n": MAX_SCENES_PER_LIST},
            field="name",
        )
    if mine.filter(name=name).exists():
        raise ServiceError("duplicate", _("已有同名场景"), field="name")
    if is_default:
        _clear_default(actor, list_key)
    try:
        with transaction.atomic():
            scene = SavedScene.objects.create(
                user=actor, list_key=list_key, name=name, query=query, is_default=is_default
            )
    except IntegrityError as exc:  # a concurrent save of the same name or default
        raise ServiceError("duplicate", _("已有同名场景"), field="name") from exc
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=scene,
        changes={f: ("", getattr(scene, f)) for f in _AUDITED},
    )
    return scene


@transaction.atomic
def saved_scene_delete(*, actor: User, pk: int) -> None:
    """Delete one of the actor's own scenes."""
    scene = _own(actor, pk)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=scene,
        changes={f: (getattr(scene, f), "") for f in _AUDITED},
    )
    scene.delete()


@transaction.atomic
def saved_scene_set_default(*, actor: User, pk: int, is_default: bool = True) -> SavedScene:
    """Make one of the actor's scenes the list's default (or stop it being the default)."""
    scene = _own(actor, pk)
    if scene.is_default == is_default:
        return scene
    if is_default:
        _clear_default(actor, scene.list_key)
    scene.is_default = is_default
    scene.save(update_fields=["is_default"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=scene,
        changes={"is_default": (not is_default, is_default)},
    )
    return scene
