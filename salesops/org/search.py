"""The trigram index of members (``core.db.textsearch``): the member list's search box and
the orders list's 会员 search read it instead of scanning a million members. Migration
``0006_member_search`` creates it; ``post_migrate`` recreates what a later SQLite table
rebuild dropped."""

from __future__ import annotations

from salesops.core.db.textsearch import TrigramIndex

MEMBER_TEXT = TrigramIndex("org_member", ("member_no", "name"))
