"""Reads of opportunities (商机), in the viewer's scope as customers are (by owner, or by
department for department scopes), the sales process a department uses, and the kanban
board: per stage the count, the sum and the weighted sum in one grouped query, and at
most ``CARDS`` cards per column."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.crm.models import Opportunity, OpportunityStatus, Stage, StageGroup
from salesops.org.access import employee_scope_q
from salesops.org.selectors import nearest_assignment

CARDS = 30
CARD_FIELDS = (
    "id", "name", "amount", "close_on", "stage_id", "customer__name", "owner__name",
)  # fmt: skip


def opportunities_for(viewer: Viewer) -> QuerySet[Opportunity]:
    if not viewer.is_staff:
        return Opportunity.objects.none()
    return Opportunity.objects.filter(
        employee_scope_q(viewer, owner="owner", department="department")
    ).select_related("customer", "owner", "stage", "department")


def opportunity_for_viewer(viewer: Viewer, pk: object) -> Opportunity:
    try:
        return opportunities_for(viewer).get(pk=int(str(pk)))
    except (Opportunity.DoesNotExist, ValueError) as exc:
        raise Http404(_("商机不存在或无权访问")) from exc


def opportunity_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return Q(name__icontains=text) | Q(code__icontains=text) | Q(customer__name__icontains=text)


def group_for_department(department_id: int | None) -> StageGroup | None:
    """The sales process of a department: the nearest group up the tree, else the
    default one (the migration creates it; None only in a database without it)."""
    groups = list(StageGroup.objects.prefetch_related("departments"))
    default = next((g for g in groups if g.is_default), None)
    direct: dict[int, StageGroup] = {}
    for g in groups:
        for d in g.departments.all():
            direct.setdefault(d.pk, g)
    return nearest_assignment(direct, default).get(department_id or 0, default)


def stages_of(group: StageGroup) -> list[Stage]:
    return list(group.stages.order_by("order"))


@dataclasses.dataclass
class Column:
    stage: Stage
    count: int
    amount: Decimal
    weighted: Decimal
    cards: list[Opportunity]


@dataclasses.dataclass
class Board:
    group: StageGroup
    columns: list[Column]

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.columns), Decimal(0))

    @property
    def weighted(self) -> Decimal:
        """The weighted pipeline: each open opportunity's amount × its stage's win rate."""
        return sum((c.weighted for c in self.columns), Decimal(0))


def kanban(viewer: Viewer, group: StageGroup, extra: Q | None = None) -> Board:
    """Open opportunities of one sales process in the viewer's scope, by stage."""
    stages = stages_of(group)
    base = opportunities_for(viewer).filter(group=group, status=OpportunityStatus.OPEN)
    if extra is not None:
        base = base.filter(extra)
    sums = {
        row["stage"]: row
        for row in base.order_by().values("stage").annotate(n=Count("id"), total=Sum("amount"))
    }
    # Each column's first cards: their ids from the scope's board index alone (stage,
    # close date and id are in it), then the cards of all columns in one query by
    # primary key, with only what a card shows (name, customer, amount, date, owner).
    # Sorting a column's rows with their joins read thousands of rows per column for a
    # manager's team (bench/bench_crm.py).
    ids = {
        stage.pk: list(
            base.filter(stage=stage).order_by("close_on", "id").values_list("pk", flat=True)[:CARDS]
        )
        for stage in stages
        if stage.pk in sums
    }
    wanted = [pk for column in ids.values() for pk in column]
    found = (
        {
            o.pk: o
            for o in Opportunity.objects.filter(pk__in=wanted)
            .select_related("customer", "owner")
            .only(*CARD_FIELDS)
        }
        if wanted
        else {}
    )
    columns = []
    for stage in stages:
        row = sums.get(stage.pk)
        n: int = int(row["n"]) if row else 0
        total = Decimal(row["total"] or 0) if row else Decimal(0)
        cards = [found[pk] for pk in ids.get(stage.pk, []) if pk in found]
        weighted = (total * stage.probability / 100).quantize(Decimal("0.01"))
        columns.append(Column(stage, n, total, weighted, cards))
    return Board(group, columns)
