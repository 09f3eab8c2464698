from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "salesops.org"
    label = "org"
    default_auto_field = "django.db.models.BigAutoField"
