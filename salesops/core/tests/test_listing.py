"""The shared list-page mechanism: search, whitelisted sort/filter, pagination, htmx."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.test import RequestFactory

from salesops.core.listing import Column, Filter, ListSpec, Scene, list_page
from salesops.factories import DepartmentFactory, UserFactory, role
from salesops.org.models import Department, DepartmentKind


def _spec() -> ListSpec:
    return ListSpec(
        title="部门",
        columns=[
            Column("code", "编码", lambda d: d.code, sort="code"),
            Column("name", "名称", lambda d: d.name, sort="name"),
            Column("kind", "类型", lambda d: d.get_kind_display()),
        ],
        search_fields=["name", "code"],
        filters=[Filter("kind", "类型", DepartmentKind.choices, "kind")],
        scenes=[Scene("all", "全部", Q())],
        default_sort="code",
        export_name="departments",
    )


@pytest.fixture
def depts(db) -> None:  # type: ignore[no-untyped-def]
    root = DepartmentFactory(name="总部", code="A00", kind=DepartmentKind.COMPANY)
    for i in range(1, 46):
        DepartmentFactory(name=f"团队{i:02d}", code=f"A{i:02d}", parent=root)


def _get(path: str, *, htmx_target: str = ""):  # type: ignore[no-untyped-def]
    user = UserFactory(username="admin-l", role=role("admin"))
    return _get_as(user, path, htmx_target=htmx_target)


def _get_as(user, path: str, *, htmx_target: str = ""):  # type: ignore[no-untyped-def]
    rf = RequestFactory()
    headers = {"HX-Request": "true", "HX-Target": htmx_target} if htmx_target else {}
    request = rf.get(path, headers=headers)
    request.user = user
    from django_htmx.middleware import HtmxDetails

    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    return list_page(request, queryset=Department.objects.all(), spec=_spec())


def test_first_page_has_twenty_rows_and_the_total(depts, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    user = UserFactory(username="admin-q", role=role("admin"))
    with django_assert_max_num_queries(8):
        resp = _get_as(user, "/x/")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert body.count("<tr>") == 21  # header + 20 rows
    assert "共 46 条" in body
    assert "1 / 3" in body


def test_search_matches_name_or_code(depts) -> None:  # type: ignore[no-untyped-def]
    body = _get("/x/?q=团队0").content.decode()
    assert "共 9 条" in body
    body = _get("/x/?q=A45").content.decode()
    assert "共 1 条" in body and "团队45" in body


def test_sort_only_by_whitelisted_columns(depts) -> None:  # type: ignore[no-untyped-def]
    body = _get("/x/?sort=-code").content.decode()
    assert body.index("团队45") < body.index("团队44")
    # Unknown sort keys (and injection attempts) fall back to the default order.
    body = _get("/x/?sort=password").content.decode()
    assert body.index("总部") < body.index("团队01")
    body = _get("/x/?sort=kind").content.decode()  # not sortable → default
    assert body.index("总部") < body.index("团队01")


def test_filter_ignores_values_outside_the_choices(depts) -> None:  # type: ignore[no-untyped-def]
    assert "共 1 条" in _get("/x/?kind=company").content.decode()
    assert "共 46 条" in _get("/x/?kind=bogus").content.decode()


def test_page_out_of_range_shows_last_page(depts) -> None:  # type: ignore[no-untyped-def]
    body = _get("/x/?page=999").content.decode()
    assert "3 / 3" in body and "团队45" in body
    body = _get("/x/?page=abc").content.decode()
    assert "1 / 3" in body


def test_htmx_request_renders_only_the_table(depts) -> None:  # type: ignore[no-untyped-def]
    body = _get("/x/?q=团队", htmx_target="list-table").content.decode()
    assert "<html" not in body
    assert 'id="list-results"' in body


def test_counts_show_with_separators_and_export_as_numbers() -> None:
    col = Column("n", "人数", lambda row: row)
    assert [col.display(v) for v in (2535, 0, 105038, True, "HY00000004")] == [
        "2,535",
        "0",
        "105,038",
        True,
        "HY00000004",
    ]
    assert col.export_value(2535) == 2535


@pytest.mark.django_db
def test_an_empty_queryset_pages_as_nothing() -> None:
    """A role without the list gets ``.none()``: no SQL to count, a page of no rows."""
    from salesops.core.listing import paginate
    from salesops.core.models import AuditLog

    pager = paginate(AuditLog.objects.none(), size=20, page="1")
    assert pager.count == 0 and list(pager.rows) == []
