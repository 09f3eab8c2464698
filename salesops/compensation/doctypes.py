"""Approval document types of the compensation module (registered in ``apps.py``)."""

from __future__ import annotations

PLAN_ACTIVATION = "comp.plan_activation"  # object_id: CompPlanVersion.pk
PERIOD_CLOSE = "comp.period_close"  # object_id: CommissionPeriod.pk
PAYOUT_BATCH = "comp.payout_batch"  # object_id: PayoutBatch.pk
