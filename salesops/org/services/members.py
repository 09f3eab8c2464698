"""Member network writes: create, edit, terminate, and the bulk path used by the demo
builder, the importer and the benchmark. ``path``/``depth`` are kept right here and in
``sponsor_changes`` only; every create also opens the member's first SponsorHistory row."""

from __future__ import annotations

import datetime
import gc
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice, repeat
from typing import Any, cast

import numpy as np
from django.db import connection, transaction
from django.db.models import F, Field, Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.access import Viewer, mask_bank_account, viewer_for
from salesops.core.audit import audit_create, audit_record, audit_update, snapshot
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, RoleCode, User
from salesops.core.sqlitedb import pragma
from salesops.core.transitions import Transitions, transition
from salesops.org.models import (
    PATH_ALPHABET,
    PATH_SEGMENT,
    Employee,
    Member,
    MemberStatus,
    Rank,
    SponsorHistory,
)
from salesops.org.paths import child_path, path_depth, path_ids

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
# Which status each status may be reached from. The member form may also set a
# terminated membership active again, and saves the status it shows unchanged.
MEMBER_MOVES = Transitions(
    MemberStatus,
    {
        MemberStatus.ACTIVE: (MemberStatus.ACTIVE, MemberStatus.TERMINATED),
        MemberStatus.TERMINATED: (MemberStatus.ACTIVE, MemberStatus.TERMINATED),
    },
)


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
    transition(member, status, allowed=MEMBER_MOVES, save=False)  # saved and audited below
    member.title = title
    member.owner = owner
    member.save(update_fields=list(_EDITABLE))
    audit_update(actor=actor, obj=member, before=before)
    return member


def can_edit_bank(viewer: Viewer) -> bool:
    """Where bonuses are paid is kept by finance (and admins)."""
    return viewer.has_role(RoleCode.FINANCE)


@transaction.atomic
def member_bank_update(
    *, actor: User | None, member: Member, bank_name: str, bank_account: str
) -> Member:
    """Set where a member's bonuses are paid (finance and admins; ``actor=None`` for the
    system). The account number is personal data: the audit row keeps it masked (last
    four digits), so the log never holds a full number."""
    if actor is not None and not can_edit_bank(viewer_for(actor)):
        raise PermissionDeniedError(_("只有财务或管理员可以修改收款信息"))
    bank_name = bank_name.strip()
    bank_account = "".join(bank_account.split())
    if bank_account and not bank_account.isdigit():
        raise ServiceError("invalid", _("银行账号只能包含数字"), field="bank_account")
    if bank_account and not 8 <= len(bank_account) <= 34:
        raise ServiceError("invalid", _("银行账号应为 8 到 34 位数字"), field="bank_account")
    if bank_account and not bank_name:
        raise ServiceError("required", _("请填写开户银行"), field="bank_name")
    old_name, old_account = member.bank_name, member.bank_account
    if (old_name, old_account) == (bank_name, bank_account):
        return member
    member.bank_name, member.bank_account = bank_name, bank_account
    member.save(update_fields=["bank_name", "bank_account"])
    changes: dict[str, tuple[str, str]] = {"bank_name": (old_name, bank_name)}
    masked = (mask_bank_account(old_account), mask_bank_account(bank_account))
    note = ""
    if old_account != bank_account:
        changes["bank_account"] = masked
        if masked[0] == masked[1]:
            note = _("银行账号已变更（脱敏后相同）")
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        changes={k: v for k, v in changes.items() if v[0] != v[1]} or None,
        note=note,
    )
    return member


@transaction.atomic
def member_terminate(*, actor: User | None, member: Member, reason: str = "") -> Member:
    """End a membership. The member stays in the tree (history and downline are kept);
    the compensation plan decides how a terminated member's volume rolls up."""
    if member.status == MemberStatus.TERMINATED:
        raise ServiceError("already_terminated", _("该会员已终止"), field="status")
    transition(
        member, MemberStatus.TERMINATED, allowed=MEMBER_MOVES, actor=actor, note=reason.strip()
    )
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


_ALPHABET_BYTES = np.frombuffer(PATH_ALPHABET.encode("ascii"), dtype=np.uint8)


def encode_segments(ids: np.ndarray) -> list[str]:
    """``encode_segment`` for a whole id array at once (7 divmods over the array)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) > 36**PATH_SEGMENT - 1):
        raise ValueError("an id does not fit a path segment")
    digits = np.empty((ids.size, PATH_SEGMENT), dtype=np.uint8)
    rest = ids.copy()
    for k in range(PATH_SEGMENT - 1, -1, -1):
        digits[:, k] = _ALPHABET_BYTES[rest % 36]
        rest //= 36
    return digits.view(f"S{PATH_SEGMENT}").ravel().astype(f"U{PATH_SEGMENT}").tolist()


@dataclass(frozen=True)
class TreeLayout:
    """Where each row of a batch goes in the tree, from its in-batch parent index.

    ``levels[k]`` holds the row indices ``k`` levels below a batch top (a root or a recruit
    of an existing member), each level grouped by parent in the order of the level above
    and in input order within a parent. ``size`` counts a row's subtree, itself included.
    ``position`` is the row's place in a pre-order walk (siblings in input order): new ids
    are handed out in that order, so id order = path order and both the primary key and
    the path index are written append-only.
    """

    levels: list[np.ndarray]
    size: np.ndarray
    position: np.ndarray


def tree_layout(parent: np.ndarray) -> TreeLayout | None:
    """Levels, subtree sizes and pre-order positions of a forest given as parent indices
    (-1 for a batch top). None when some rows never reach a top: a sponsor cycle."""
    parent = np.asarray(parent, dtype=np.int64)
    n = parent.size
    by_parent = np.argsort(parent, kind="stable")
    parent_sorted = parent[by_parent]
    levels = [np.flatnonzero(parent < 0)]
    reached = levels[0].size
    while reached < n:
        frontier = levels[-1]
        starts = np.searchsorted(parent_sorted, frontier, side="left")
        counts = np.searchsorted(parent_sorted, frontier, side="right") - starts
        total = int(counts.sum())
        if not total:
            break
        # Every frontier node's [start, end) slice of children, gathered in one go.
        gather = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(total)
        levels.append(by_parent[gather])
        reached += total
    if reached != n:
        return None

    size = np.ones(n, dtype=np.int64)
    for level in reversed(levels[1:]):
        np.add.at(size, parent[level], size[level])

    position = np.empty(n, dtype=np.int64)
    tops = levels[0]
    position[tops] = np.cumsum(size[tops]) - size[tops]
    for level in levels[1:]:
        par = parent[level]
        sz = size[level]
        before = np.cumsum(sz) - sz  # subtree rows ahead of each row within the level
        first = np.ones(level.size, dtype=bool)
        first[1:] = par[1:] != par[:-1]
        group_start = np.maximum.accumulate(np.where(first, np.arange(level.size), 0))
        position[level] = position[par] + 1 + before - before[group_start]
    return TreeLayout(levels=levels, size=size, position=position)


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _insert_rows(
    model: type[Model], columns: Sequence[str], rows: Iterable[tuple[Any, ...]], batch_size: int
) -> None:
    """Raw multi-row insert: COPY on PostgreSQL, ``executemany`` in batches elsewhere.
    Values must already be in the database's form (``connection.ops.adapt_*``)."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    cols = ", ".join(qn(str(cast(Field, model._meta.get_field(c)).column)) for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
        for chunk in _chunks(rows, batch_size):
            cur.executemany(sql, chunk)


def _taken_member_nos(nos: list[str]) -> list[str]:
    """Which of ``nos`` are already member numbers (an empty table answers at once)."""
    if not Member.objects.exists():
        return []
    taken: list[str] = []
    step = max(1, min(connection.features.max_query_params or 999, 10000) - 1)
    for start in range(0, len(nos), step):
        taken.extend(
            Member.objects.filter(member_no__in=nos[start : start + step]).values_list(
                "member_no", flat=True
            )
        )
    return taken


@transaction.atomic
def members_bulk_create(
    *,
    actor: User | None,
    seeds: Sequence[MemberSeed],
    batch_size: int = 5000,
) -> int:
    """Create many members at once with correct paths, counts and first SponsorHistory
    rows: a million in well under a minute.

    Everything is checked before anything is written (blank fields, duplicate or taken
    numbers, unknown sponsors, sponsor cycles), so a bad batch writes nothing. The tree is
    laid out with NumPy level by level (``tree_layout``); new ids follow a pre-order walk,
    so every sponsor gets a smaller id than its recruits. Rows go in with raw batched
    inserts (COPY on PostgreSQL). Returns the number created.
    """
    with _bulk_load():
        return _bulk_create(actor=actor, seeds=seeds, batch_size=batch_size)


@contextmanager
def _bulk_load() -> Iterator[None]:
    """A million rows' worth of tuples would set the cyclic GC scanning over and over, and
    SQLite's 2 MB page cache would spill index pages mid-transaction; both are set back."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        if connection.vendor == "sqlite":
            with pragma("cache_size", -1048576):  # KiB: up to 1 GiB, as needed
                yield
        else:
            yield
    finally:
        if gc_was_on:
            gc.enable()


def _bulk_create(*, actor: User | None, seeds: Sequence[MemberSeed], batch_size: int) -> int:
    n = len(seeds)
    if not n:
        return 0
    nos = [s.member_no.strip() for s in seeds]
    names = [s.name.strip() for s in seeds]
    for row, (no, name) in enumerate(zip(nos, names, strict=True), start=1):
        if not no:
            raise ServiceError("required", _("第 %(row)d 行：请填写会员编号") % {"row": row})
        if not name:
            raise ServiceError("required", _("第 %(row)d 行：请填写姓名") % {"row": row})
    index = {no: i for i, no in enumerate(nos)}
    if len(index) != n:
        dup = next(no for i, no in enumerate(nos) if index[no] != i)
        raise ServiceError(
            "duplicate", _("会员编号 %(no)s 在导入数据中重复") % {"no": dup}, "member_no"
        )
    statuses = [s.status for s in seeds]
    titles = [s.title for s in seeds]
    for bad in sorted(set(statuses) - set(MemberStatus.values)):
        _check_choice(bad, MemberStatus.values, "status")
    for bad in sorted(set(titles) - set(Rank.values) - {""}):
        _check_choice(bad, Rank.values, "title")
    taken = _taken_member_nos(nos)
    if taken:
        raise ServiceError(
            "duplicate", _("会员编号 %(no)s 已存在") % {"no": min(taken)}, "member_no"
        )

    sponsor_nos = [s.sponsor_no.strip() for s in seeds]
    parent = np.fromiter((index.get(no, -1) for no in sponsor_nos), dtype=np.int64, count=n)
    outside = sorted(
        {no for no, p in zip(sponsor_nos, parent.tolist(), strict=True) if no and p < 0}
    )
    known: dict[str, tuple[int, str, int]] = {}
    step = max(1, (connection.features.max_query_params or 999) - 1)
    for start in range(0, len(outside), step):
        for pk, no, path, sponsor_depth in Member.objects.filter(
            member_no__in=outside[start : start + step]
        ).values_list("pk", "member_no", "path", "depth"):
            known[no] = (pk, path, sponsor_depth)
    missing = [no for no in outside if no not in known]
    if missing:
        raise ServiceError(
            "sponsor_missing", _("推荐人 %(no)s 不存在") % {"no": missing[0]}, "sponsor_no"
        )
    layout = tree_layout(parent)
    if layout is None:
        raise ServiceError("cycle", _("导入数据中的推荐关系存在循环"), "sponsor_no")

    first_id = _reserve_ids(n)
    ids = first_id + layout.position
    segments = encode_segments(ids)
    sponsor_pk = np.full(n, -1, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    paths: list[str] = [""] * n
    tops = layout.levels[0]
    for i in tops.tolist():
        no = sponsor_nos[i]
        if no:  # a recruit of an existing member
            pk, path, above = known[no]
            sponsor_pk[i], depth[i], paths[i] = pk, above + 1, path + segments[i]
        else:
            paths[i] = segments[i]
    for level in layout.levels[1:]:
        par = parent[level]
        sponsor_pk[level] = ids[par]
        depth[level] = depth[par] + 1
        for i, p in zip(level.tolist(), par.tolist(), strict=True):
            paths[i] = paths[p] + segments[i]

    # What lands under existing members adds to their whole upline's counts.
    added_under: Counter[int] = Counter()
    for i in tops.tolist():
        if sponsor_nos[i]:
            for ancestor in path_ids(known[sponsor_nos[i]][1]):
                added_under[ancestor] += int(layout.size[i])
    by_increment: defaultdict[int, list[int]] = defaultdict(list)
    for ancestor, k in added_under.items():
        by_increment[k].append(ancestor)
    for k, pks in by_increment.items():
        for start in range(0, len(pks), step):
            Member.objects.filter(pk__in=pks[start : start + step]).update(
                downline_count=F("downline_count") + k
            )

    order = np.empty(n, dtype=np.int64)
    order[layout.position] = np.arange(n)
    o = order.tolist()
    adapt_date = connection.ops.adapt_datefield_value
    dates: dict[datetime.date, Any] = {}
    joined = [
        dates.get(d) or dates.setdefault(d, adapt_date(d)) for d in (s.joined_on for s in seeds)
    ]
    sponsors: list[int | None] = [None if x < 0 else x for x in sponsor_pk.tolist()]
    id_list = (first_id + np.arange(n)).tolist()
    sponsor_col = [sponsors[i] for i in o]
    joined_col = [joined[i] for i in o]
    _insert_rows(
        Member,
        (
            "id",
            "member_no",
            "name",
            "phone",
            "user",
            "sponsor",
            "path",
            "depth",
            "downline_count",
            "joined_on",
            "status",
            "title",
            "owner",
            "bank_name",
            "bank_account",
        ),
        zip(
            id_list,
            [nos[i] for i in o],
            [names[i] for i in o],
            [seeds[i].phone.strip() for i in o],
            repeat(None),
            sponsor_col,
            [paths[i] for i in o],
            depth[order].tolist(),
            (layout.size[order] - 1).tolist(),
            joined_col,
            [statuses[i] for i in o],
            [titles[i] for i in o],
            [seeds[i].owner_id for i in o],
            repeat(""),
            repeat(""),
        ),
        batch_size,
    )
    recorded_by = actor.pk if actor is not None and actor.is_authenticated else None
    _insert_rows(
        SponsorHistory,
        ("member", "sponsor", "valid_from", "valid_to", "recorded_at", "recorded_by", "reason"),
        zip(
            id_list,
            sponsor_col,
            joined_col,
            repeat(None),
            repeat(connection.ops.adapt_datetimefield_value(timezone.now())),
            repeat(recorded_by),
            repeat(""),
        ),
        batch_size,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type=Member._meta.label_lower,
        note=_("批量创建会员 %(n)d 名（编号 %(first)s 等）")
        % {"n": n, "first": nos[int(order[0])]},
    )
    return n
