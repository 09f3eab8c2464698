"""Checks every status table against the moves a test writes out from the product's
description: the table allows exactly those, and ``transition`` makes each allowed move
and refuses every other pair of statuses (by label, with nothing changed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from django.db import models

from salesops.core.errors import ServiceError
from salesops.core.transitions import Transitions, transition


@dataclass(frozen=True)
class Table:
    table: Transitions
    model: type[models.Model]
    expected: frozenset[tuple[str, str]]  # (before, to)


def table(table: Transitions, model: type[models.Model], *moves: tuple[str, str]) -> Table:
    return Table(table, model, frozenset((str(a), str(b)) for a, b in moves))


def every_pair(tables: Mapping[str, Table]) -> list[object]:
    """One case per (table, before, to) over the enum's values, allowed or not."""
    return [
        pytest.param(name, before, to, id=f"{name}:{before}->{to}")
        for name, spec in tables.items()
        for before in spec.table.choices.values
        for to in spec.table.choices.values
    ]


def check_table(spec: Table) -> None:
    assert spec.table.pairs() == spec.expected


def check_move(spec: Table, before: str, to: str) -> None:
    obj = spec.model(status=before)
    if (before, to) in spec.expected:
        assert transition(obj, to, allowed=spec.table, save=False) == before
        assert obj.status == to  # type: ignore[attr-defined]
        return
    labels = dict(spec.table.choices.choices)
    with pytest.raises(ServiceError) as err:
        transition(obj, to, allowed=spec.table, save=False)
    assert (err.value.code, err.value.status) == ("invalid_transition", 409)
    assert str(err.value.message) == f"不能从“{labels[before]}”变为“{labels[to]}”"
    assert obj.status == before  # type: ignore[attr-defined]
