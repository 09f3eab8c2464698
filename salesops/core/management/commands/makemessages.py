"""makemessages that also extracts the ``_l`` / ``_lazy`` aliases of gettext_lazy used in
some modules, so a plain run never drops their catalogue entries."""

from django.core.management.commands.makemessages import Command as BaseCommand


class Command(BaseCommand):
    xgettext_options = [*BaseCommand.xgettext_options, "--keyword=_l", "--keyword=_lazy"]
