"""Modules plug themselves in: a new app registered only through its own ``apps.py``
appears in the menu, the URLs, the API, the import screen, the home page and the
scheduler; a piece that does not resolve fails loudly."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from salesops.core import registry
from salesops.core.registry import MenuGroup, MenuItem, Module

ROOT = Path(__file__).resolve().parents[3]

# Runs in a fresh interpreter whose settings add the plugin app (and nothing else).
PROBE = r"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from django.urls import reverse
from salesops.core.models import RoleCode
from salesops.core.registry import scheduled_jobs
from salesops.core.scheduler import scheduled_job_run
from salesops.factories import UserFactory, role
from django.utils import timezone

rep = UserFactory(username="plugin-rep", role=role(RoleCode.REP))
client = Client()
client.force_login(rep)
home = client.get("/").content.decode()
page = client.get(reverse("plugin:home"))
schema = client.get("/api/openapi.json").json()
admin = UserFactory(username="plugin-admin", role=role(RoleCode.ADMIN))
client.force_login(admin)
imports = client.get(reverse("core:imports")).content.decode()
state = scheduled_job_run(key="plugin.tick", now=timezone.now())
print(json.dumps({
    "url": reverse("plugin:home"),
    "page": [page.status_code, page.content.decode()],
    "menu_has_entry": 'href="/plugin/"' in home and "插件页面" in home and "插件分组" in home,
    "card": 'id="fig-widgets"' in home and "插件数" in home,
    "api_paths": sorted(p for p in schema["paths"] if "plugin" in p),
    "importer": "插件数据" in imports and "/imports/widgets/" in imports,
    "job": ["plugin.tick" in scheduled_jobs(), state.last_status, state.last_message[:7]],
}))
"""


@pytest.mark.slow
def test_an_app_registered_only_through_its_apps_py_appears_everywhere(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="salesops.core.tests.plugin_settings",
        SALESOPS_VAR_DIR=str(tmp_path),
        SALESOPS_SQLITE_PATH=str(tmp_path / "plugin.sqlite3"),
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "url": "/plugin/",
        "page": [200, "plugin home"],
        "menu_has_entry": True,
        "card": True,
        "api_paths": ["/api/plugin/ping"],
        "importer": True,
        "job": [True, "done", "ticked "],
    }


def test_the_installed_modules_register_their_pieces() -> None:
    apps = [m.app for m in registry.modules()]
    assert apps == ["core", "org", "sales", "crm", "compensation"]
    assert [prefix for prefix, _m in registry.url_modules()] == [
        "",
        "org/",
        "sales/",
        "crm/",
        "comp/",
    ]
    assert list(registry.importer_classes()) == [
        "departments",
        "employees",
        "members",
        "customers",
        "products",
        "orders",
        "contracts",
        "receipts",
        "leads",
        "contacts",
        "opportunities",
    ]
    groups = [str(g.label) for g, _items in registry.menu_groups()]
    assert groups == [
        "工作台",
        "组织架构",
        "直销网络",
        "客户关系",
        "销售管理",
        "奖金结算",
        "系统管理",
    ]
    assert list(registry.scheduled_jobs()) == [
        "core.accounts_purge",
        "core.import_jobs_reset_stale",
        "core.import_files_purge",
        "core.attachments_purge",
        "sales.contract_reminders",
        "crm.pool_reclaim",
        "crm.followup_reminders",
        "crm.visit_schedule",
        "crm.complaint_escalation",
        "compensation.reset_stale_runs",
    ]
    assert list(registry.attachables()) == ["sales.contract", "crm.activity"]
    assert registry.check_registry() == []


@pytest.fixture
def broken() -> object:
    yield
    registry.unregister_module("broken")


def test_a_url_module_that_does_not_import_fails_loudly(broken: object) -> None:
    registry.register_module(Module(app="broken", url_prefix="x/", urls="salesops.no_such_mod"))
    with pytest.raises(ImproperlyConfigured, match=r"salesops\.no_such_mod"):
        registry.url_modules()
    assert [e.id for e in registry.check_registry()] == ["salesops.registry"]


def test_attachments_of_a_type_that_names_no_model_fail_loudly(broken: object) -> None:
    def anyone(viewer: object, object_id: str) -> bool:
        return True

    registry.register_module(
        Module(app="broken", attachables=(registry.Attachable("sales.nothing", anyone, anyone),))
    )
    with pytest.raises(
        ImproperlyConfigured, match=re.escape("'sales.nothing' (of broken) name no model")
    ):
        registry.attachables()
    assert [e.id for e in registry.check_registry()] == ["salesops.registry"]


def test_attachments_of_one_type_registered_twice_fail_loudly(broken: object) -> None:
    def anyone(viewer: object, object_id: str) -> bool:
        return True

    registry.register_module(
        Module(app="broken", attachables=(registry.Attachable("sales.contract", anyone, anyone),))
    )
    with pytest.raises(ImproperlyConfigured, match=re.escape("'sales.contract' registered twice")):
        registry.attachables()


def test_an_api_module_without_a_router_fails_loudly(broken: object) -> None:
    registry.register_module(Module(app="broken", api=("salesops.core.money",)))
    with pytest.raises(ImproperlyConfigured, match="defines no ``router``"):
        registry.api_routers()


def test_a_menu_entry_whose_url_does_not_resolve_is_reported(broken: object) -> None:
    registry.register_module(
        Module(
            app="broken",
            menu_groups=(MenuGroup("broken", "坏分组", order=1),),
            menu=(MenuItem("broken", "nowhere:page", "坏入口", "bi-x", ()),),
        )
    )
    messages = [e.msg for e in registry.check_registry()]
    assert messages == ["registry: menu entry 'nowhere:page' resolves to no URL"]


def test_an_entry_in_an_undeclared_group_fails_loudly(broken: object) -> None:
    registry.register_module(
        Module(app="broken", menu=(MenuItem("nowhere", "dashboard", "首页", "bi-x", ()),))
    )
    with pytest.raises(ImproperlyConfigured, match="undeclared group 'nowhere'"):
        registry.menu_groups()


def test_two_modules_claiming_one_prefix_fail_loudly(broken: object) -> None:
    registry.register_module(Module(app="broken", url_prefix="sales/", urls="salesops.sales.urls"))
    with pytest.raises(ImproperlyConfigured, match="'sales/' claimed by sales and broken"):
        registry.url_modules()
