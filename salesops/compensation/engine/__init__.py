"""The compensation engine: pure Python + NumPy/Polars, no Django.

* :mod:`.plan` — plan files (TOML) → frozen, validated plan objects
* :mod:`.csvinput` — members.csv / orders.csv → validated arrays
* :mod:`.vectorised` — one period for the whole network, integer fen
* :mod:`.reference` — the same rules member by member in Decimal (the test oracle)
* :mod:`.commission` — employee commission (提成) plans
"""

from .plan import CommissionPlan, PlanError, PlanIssue, RankPlan, load_plan, parse_plan
from .schedule import Period

__all__ = [
    "CommissionPlan", "Period", "PlanError", "PlanIssue", "RankPlan", "load_plan", "parse_plan",
]  # fmt: skip
