"""Errors of the compensation module that both its reads and its writes raise."""

from __future__ import annotations


class RunInputError(Exception):
    """Bad data in the database: the run fails with this message and stores nothing."""
