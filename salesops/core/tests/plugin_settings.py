"""Settings of the registry test: the project's, plus the throw-away plugin app."""

from salesops.settings import *  # noqa: F403
from salesops.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "salesops.core.tests.plugin"]
# Plain static storage, as in the suite (conftest.py): the probe renders pages without a
# collected manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
