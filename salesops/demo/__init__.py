"""The demo company (``salesops demo`` / ``make demo``): see ``builder``."""
