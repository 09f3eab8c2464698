from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "salesops.core"
    label = "core"
    verbose_name = _("系统")
    default_auto_field = "django.db.models.BigAutoField"
