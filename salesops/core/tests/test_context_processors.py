"""The layout's context (sidebar menu, unread count) costs a page once, not once per
partial: a detail page renders a dozen tabs with ``render_to_string(request=...)``."""

from __future__ import annotations

from django.db import connection
from django.template import engines
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from salesops.core.notifications import notify


def test_partials_read_no_menu_and_the_layout_reads_it_once(
    stock, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    # given a user with one unread notification, and a request of theirs
    notify(user=stock.rep_user, title="提醒", url="/x/")
    request = RequestFactory().get("/sales/customers/")
    request.user = stock.rep_user
    engine = engines["django"]
    partial = engine.from_string("<p>{{ request.path }}</p>")
    layout = engine.from_string(
        "{% for g in nav_menu %}{{ g.label }}{% endfor %}{% if nav_menu %}[{{ nav_unread }}]"
        "{{ nav_unread }}{% endif %}"
    )
    # when partials render with the request: then no query for the menu or the count
    with django_assert_num_queries(0):
        for _ in range(3):
            partial.render({}, request)
    # when the layout reads both (each more than once): then they are computed once
    with CaptureQueriesContext(connection) as first:
        html = layout.render({}, request)
    assert html.endswith("[1]1")
    assert sum("core_notification" in q["sql"] for q in first.captured_queries) == 1
    with django_assert_num_queries(0):
        assert layout.render({}, request) == html
