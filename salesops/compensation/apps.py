from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompensationConfig(AppConfig):
    name = "salesops.compensation"
    label = "compensation"
    verbose_name = _("奖金结算")
    default_auto_field = "django.db.models.BigAutoField"
