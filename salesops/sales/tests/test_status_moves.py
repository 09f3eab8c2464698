"""sales' status table: orders (``core/transitions.py``)."""

from __future__ import annotations

import pytest

from salesops.core.tests.status_tables import Table, check_move, check_table, every_pair, table
from salesops.sales.models import Order, OrderStatus
from salesops.sales.services.orders import ORDER_MOVES

TABLES: dict[str, Table] = {
    # Entered CONFIRMED; 取消 is final (a returned order is returned, not cancelled).
    "order": table(ORDER_MOVES, Order, (OrderStatus.CONFIRMED, OrderStatus.CANCELLED)),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_table_allows_exactly_the_described_moves(name: str) -> None:
    check_table(TABLES[name])


@pytest.mark.parametrize("name, before, to", every_pair(TABLES))
def test_move(name: str, before: str, to: str) -> None:
    check_move(TABLES[name], before, to)
