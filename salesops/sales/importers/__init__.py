"""Importers of sales data: customers, products with price lists, orders (registered in
``sales/apps.py``)."""
