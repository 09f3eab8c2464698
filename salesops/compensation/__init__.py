"""Compensation: declarative plans, the period engine and its command (see engine/)."""
