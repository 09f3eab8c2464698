"""Settings of the registry test: the project's, plus the throw-away plugin app."""

from salesops.settings import *  # noqa: F403
from salesops.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "salesops.core.tests.plugin"]
