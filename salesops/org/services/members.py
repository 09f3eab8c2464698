"""Member network writes: create, edit, terminate, and the bulk path used by the demo
builder, the importer and the benchmark. ``path``/``depth`` are kept right here and in
``sponsor_changes`` only; every create also opens the member's first SponsorHistory row."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_record, audit_update, snapshot
from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, User
from salesops.org.models import Employee, Member, MemberStatus, Rank, SponsorHistory
from salesops.org.paths import child_path, encode_segment, path_depth, path_ids

_AUDITED = (
    "member_no",
    "name",
    "phone",
    "sponsor",
    "joined_on",
    "status",
    "title",
    "owner",
    "user",
)
_EDITABLE = ("name", "phone", "status", "title", "owner")


def _check_choice(value: str, choices: Iterable[str], field: str) -> None:
    if value not in set(choices):
        raise ServiceError("invalid", _("%(value)s 不是有效的选项") % {"value": value}, field)


@transaction.atomic
def member_create(
    *,
    actor: User | None,
    member_no: str,
    name: str,
    joined_on: datetime.date,
    sponsor: Member | None = None,
    phone: str = "",
    status: str = MemberStatus.ACTIVE,
    title: str = "",
    owner: Employee | None = None,
    user: User | None = None,
) -> Member:
    """Add a member under ``sponsor`` (None for a root of the network)."""
    member_no, name = member_no.strip(), name.strip()
    if not member_no:
        raise ServiceError("required", _("请填写会员编号"), field="member_no")
    if not name:
        raise ServiceError("required", _("请填写姓名"), field="name")
    _check_choice(status, MemberStatus.values, "status")
    if title:
        _check_choice(title, Rank.values, "title")
    if Member.objects.filter(member_no=member_no).exists():
        raise ServiceError(
            "duplicate", _("会员编号 %(no)s 已存在") % {"no": member_no}, field="member_no"
        )
    if sponsor is not None and sponsor.status != MemberStatus.ACTIVE:
        raise ServiceError("sponsor_inactive", _("推荐人已终止，不能再推荐新会员"), "sponsor")
    member = Member.objects.create(
        member_no=member_no,
        name=name,
        phone=phone.strip(),
        joined_on=joined_on,
        sponsor=sponsor,
        status=status,
        title=title,
        owner=owner,
        user=user,
    )
    member.path = child_path(sponsor.path if sponsor else "", member.pk)
    member.depth = path_depth(member.path)
    member.save(update_fields=["path", "depth"])
    if sponsor is not None:
        Member.objects.filter(pk__in=path_ids(sponsor.path)).update(
            downline_count=F("downline_count") + 1
        )
    SponsorHistory.objects.create(
        member=member,
        sponsor=sponsor,
        valid_from=joined_on,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_create(actor=actor, obj=member, fields=_AUDITED)
    return member


@transaction.atomic
def member_update(
    *,
    actor: User | None,
    member: Member,
    name: str,
    phone: str,
    status: str,
    title: str,
    owner: Employee | None,
) -> Member:
    """Edit a member's details. The sponsor is changed only by ``sponsor_change_apply``."""
    before = snapshot(member, _EDITABLE)
    name = name.strip()
    if not name:
        raise ServiceError("required", _("请填写姓名"), field="name")
    _check_choice(status, MemberStatus.values, "status")
    if title:
        _check_choice(title, Rank.values, "title")
    member.name = name
    member.phone = phone.strip()
    member.status = status
    member.title = title
    member.owner = owner
    member.save(update_fields=list(_EDITABLE))
    audit_update(actor=actor, obj=member, before=before)
    return member


@transaction.atomic
def member_terminate(*, actor: User | None, member: Member, reason: str = "") -> Member:
    """End a membership. The member stays in the tree (history and downline are kept);
    the compensation plan decides how a terminated member's volume rolls up."""
    if member.status == MemberStatus.TERMINATED:
        raise ServiceError("already_terminated", _("该会员已终止"), field="status")
    before = snapshot(member, ("status",))
    member.status = MemberStatus.TERMINATED
    member.save(update_fields=["status"])
    audit_update(actor=actor, obj=member, before=before, note=reason.strip())
    return member


@dataclass(frozen=True)
class MemberSeed:
    """One row for ``members_bulk_create``. ``sponsor_no`` names a member earlier in the
    same batch or one already in the database ("" for a root)."""

    member_no: str
    name: str
    joined_on: datetime.date
    sponsor_no: str = ""
    phone: str = ""
    status: str = MemberStatus.ACTIVE
    title: str = ""
    owner_id: int | None = None


def _reserve_ids(count: int) -> int:
    """First of ``count`` consecutive new Member ids (caller holds the write transaction)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Member._meta.db_table)
        with connection.cursor() as cur:
            # Writers queue behind this lock, so the reserved range stays ours.
            cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Member._meta.db_table])
            (seq,) = cur.fetchone()
            cur.execute(
                f"SELECT GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), nextval(%s))",  # noqa: S608
                [seq],
            )
            (base,) = cur.fetchone()
            cur.execute("SELECT setval(%s, %s)", [seq, int(base) + count])
        return int(base) + 1
    top = Member.objects.aggregate(m=Max("id"))["m"] or 0
    return int(top) + 1


@transaction.atomic
def members_bulk_create(
    *,
    actor: User | None,
    seeds: Sequence[MemberSeed],
    batch_size: int = 5000,
) -> int:
    """Create many members at once with correct paths and no per-row query.

    Ids are assigned up front in sponsor order (every sponsor before its recruits), the
    paths computed in memory level by level, then members and their first SponsorHistory
    rows go in with ``bulk_create`` in batches. Returns the number created. Validation
    happens before anything is written, so a bad batch writes nothing.
    """
    if not seeds:
        return 0
    index: dict[str, int] = {}
    for i, s in enumerate(seeds):
        no = s.member_no.strip()
        if not no:
            raise ServiceError("required", _("第 %(row)d 行：请填写会员编号") % {"row": i + 1})
        if no in index:
            raise ServiceError(
                "duplicate", _("会员编号 %(no)s 在导入数据中重复") % {"no": no}, "member_no"
            )
        if not s.name.strip():
            raise ServiceError("required", _("第 %(row)d 行：请填写姓名") % {"row": i + 1})
        index[no] = i
    existing_nos: set[str] = set()
    nos = list(index)
    for start in range(0, len(nos), 900):
        existing_nos.update(
            Member.objects.filter(member_no__in=nos[start : start + 900]).values_list(
                "member_no", flat=True
            )
        )
    if existing_nos:
        first = sorted(existing_nos)[0]
        raise ServiceError("duplicate", _("会员编号 %(no)s 已存在") % {"no": first}, "member_no")

    outside = sorted({s.sponsor_no for s in seeds if s.sponsor_no and s.sponsor_no not in index})
    outside_paths: dict[str, tuple[int, str, str]] = {}
    for start in range(0, len(outside), 900):
        for pk, no, path, status in Member.objects.filter(
            member_no__in=outside[start : start + 900]
        ).values_list("pk", "member_no", "path", "status"):
            outside_paths[no] = (pk, path, status)
    missing = [no for no in outside if no not in outside_paths]
    if missing:
        raise ServiceError(
            "sponsor_missing", _("推荐人 %(no)s 不存在") % {"no": missing[0]}, "sponsor_no"
        )

    # Order by level: roots and recruits of existing members first, then their recruits…
    children: dict[int, list[int]] = {}
    level: list[int] = []
    for i, s in enumerate(seeds):
        if s.sponsor_no in index:
            children.setdefault(index[s.sponsor_no], []).append(i)
        else:
            level.append(i)
    order: list[int] = []
    while level:
        order.extend(level)
        level = [c for p in level for c in children.get(p, ())]
    if len(order) != len(seeds):
        raise ServiceError("cycle", _("导入数据中的推荐关系存在循环"), "sponsor_no")

    first_id = _reserve_ids(len(seeds))
    ids = [0] * len(seeds)
    paths = [""] * len(seeds)
    for n, i in enumerate(order):
        ids[i] = first_id + n
    for i in order:
        s = seeds[i]
        if not s.sponsor_no:
            parent = ""
        elif s.sponsor_no in index:
            parent = paths[index[s.sponsor_no]]
        else:
            parent = outside_paths[s.sponsor_no][1]
        paths[i] = parent + encode_segment(ids[i])

    def sponsor_id(s: MemberSeed) -> int | None:
        if not s.sponsor_no:
            return None
        if s.sponsor_no in index:
            return ids[index[s.sponsor_no]]
        return outside_paths[s.sponsor_no][0]

    # Downline sizes, leaves first; what lands under existing members adds to their line.
    counts = [0] * len(seeds)
    added_under: Counter[int] = Counter()
    for i in reversed(order):
        s = seeds[i]
        if s.sponsor_no in index:
            counts[index[s.sponsor_no]] += counts[i] + 1
        elif s.sponsor_no:
            for ancestor in path_ids(outside_paths[s.sponsor_no][1]):
                added_under[ancestor] += counts[i] + 1
    by_increment: defaultdict[int, list[int]] = defaultdict(list)
    for ancestor, k in added_under.items():
        by_increment[k].append(ancestor)
    for k, pks in by_increment.items():
        for start in range(0, len(pks), 900):
            Member.objects.filter(pk__in=pks[start : start + 900]).update(
                downline_count=F("downline_count") + k
            )

    recorded_by = actor if actor is not None and actor.is_authenticated else None
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        Member.objects.bulk_create(
            [
                Member(
                    id=ids[i],
                    member_no=seeds[i].member_no.strip(),
                    name=seeds[i].name.strip(),
                    phone=seeds[i].phone.strip(),
                    joined_on=seeds[i].joined_on,
                    sponsor_id=sponsor_id(seeds[i]),
                    status=seeds[i].status,
                    title=seeds[i].title,
                    owner_id=seeds[i].owner_id,
                    path=paths[i],
                    depth=path_depth(paths[i]),
                    downline_count=counts[i],
                )
                for i in chunk
            ]
        )
        SponsorHistory.objects.bulk_create(
            [
                SponsorHistory(
                    member_id=ids[i],
                    sponsor_id=sponsor_id(seeds[i]),
                    valid_from=seeds[i].joined_on,
                    recorded_by=recorded_by,
                )
                for i in chunk
            ]
        )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type=Member._meta.label_lower,
        note=_("批量创建会员 %(n)d 名（编号 %(first)s 等）")
        % {"n": len(seeds), "first": seeds[order[0]].member_no},
    )
    return len(seeds)
