"""Importers of org data: departments, employees, direct-selling members (registered in
``org/apps.py``)."""
