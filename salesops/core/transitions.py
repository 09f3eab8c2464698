"""Status machines: one declared table of allowed moves per status enum, one checked
function that makes a move.

Every model with a status declares its ``Transitions`` next to its services (which
status each status may be reached from) and changes status only through
``transition`` (one object) or ``claim`` (a conditional update that claims work under
concurrency: only rows still in an allowed "from" status change). A move the table does
not allow is refused with a readable error naming both statuses by their labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from salesops.core.audit import audit_save
from salesops.core.errors import ServiceError
from salesops.core.models import User


class Transitions:
    """The allowed moves of one status enum: ``{to: (from, …)}``.

    A status absent from the table's keys can never be reached by a move (only by
    creating the object in it); a move to the same status is allowed only when listed.
    """

    def __init__(
        self,
        choices: type[models.TextChoices],
        moves: Mapping[str, Iterable[str]],
        *,
        code: str = "invalid_transition",
    ) -> None:
        self.choices = choices
        self.code = code
        known = set(choices.values)
        table: dict[str, frozenset[str]] = {}
        for to, sources in moves.items():
            sources = frozenset(sources)
            unknown = ({to} | sources) - known
            if unknown:
                raise ValueError(f"{choices.__name__}: unknown statuses {sorted(unknown)}")
            table[to] = sources
        self._from = table

    def allowed_from(self, to: str) -> tuple[str, ...]:
        """The statuses ``to`` may be reached from, in the enum's order."""
        sources = self._from.get(to, frozenset())
        return tuple(s for s in self.choices.values if s in sources)

    def allows(self, before: str, to: str) -> bool:
        return before in self._from.get(to, frozenset())

    def pairs(self) -> set[tuple[str, str]]:
        """Every allowed move as ``(before, to)``."""
        return {(before, to) for to, sources in self._from.items() for before in sources}

    def label(self, value: str) -> str:
        try:
            return str(self.choices(value).label)
        except ValueError:
            return value

    def refusal(self, before: str, to: str) -> ServiceError:
        return ServiceError(
            code=self.code,
            message=_("不能从“%(before)s”变为“%(to)s”")
            % {"before": self.label(before), "to": self.label(to)},
            status=409,
        )

    def check(self, before: str, to: str) -> None:
        """Refuse (``ServiceError``, 409) a move the table does not allow."""
        if not self.allows(before, to):
            raise self.refusal(before, to)


def transition(
    obj: models.Model,
    to: str,
    *,
    allowed: Transitions,
    actor: User | None = None,
    note: str = "",
    field: str = "status",
    audit: bool = True,
    save: bool = True,
    **values: Any,
) -> str:
    """Move ``obj`` to ``to`` if ``allowed`` permits it from its current status; returns
    the status it had.

    Sets ``values`` with it and saves those fields, audited (``audit_save``) unless
    ``audit=False``; ``save=False`` only sets them, for a caller that saves the object
    itself in the same step.
    """
    before = str(getattr(obj, field))
    allowed.check(before, to)
    changes = {field: to, **values}
    if not save:
        for name, value in changes.items():
            setattr(obj, name, value)
    elif audit:
        audit_save(obj, actor=actor, note=note, **changes)
    else:
        for name, value in changes.items():
            setattr(obj, name, value)
        obj.save(update_fields=list(changes))
    return before


def claim(
    queryset: models.QuerySet[Any],
    to: str,
    *,
    allowed: Transitions,
    field: str = "status",
    **values: Any,
) -> int:
    """The conditional update that claims work: rows of ``queryset`` still in a status
    ``to`` may be reached from move to it (with ``values``); returns how many did. Two
    workers claiming the same row: exactly one gets 1."""
    return queryset.filter(**{f"{field}__in": allowed.allowed_from(to)}).update(
        **{field: to}, **values
    )
