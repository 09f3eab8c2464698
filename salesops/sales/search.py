"""The trigram indexes of the sales lists (``core.db.textsearch``): what each list's search
box reads instead of scanning its table. Migrations ``0007_customer_search`` and
``0009_customer_short_search`` create them; ``post_migrate`` recreates any a later SQLite
table rebuild dropped."""

from __future__ import annotations

from salesops.core.db.choices import ChoiceSource
from salesops.core.db.textsearch import GramIndex, TrigramIndex

# Customers: name and code for everyone; phone fragments only for a viewer who may see
# phones (``selectors.customer_search_q``).
CUSTOMER_TEXT = TrigramIndex("sales_customer", ("name", "code", "phone"))
# Names and codes for terms of one or two characters (华为, 张伟); a phone fragment needs
# three digits (two match nearly every number).
CUSTOMER_SHORT = GramIndex("sales_customer", ("name", "code"))
# Orders: the order number (SO0012345); the customer's name goes through CUSTOMER_TEXT.
ORDER_TEXT = TrigramIndex("sales_order", ("order_no",))

# 客户来源 is free text: the values are recorded in core.ChoiceValue for the list's filter.
CUSTOMER_SOURCES = ChoiceSource("sales.customer.source", "sales_customer", "source")
