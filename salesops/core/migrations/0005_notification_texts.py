"""Notifications in the reader's language: ``Notification.texts`` holds each message in
every UI language.

Existing rows were stored in their sender's language. Where a row's title is one of the
messages the services send (in Chinese or in English), its ``texts`` are filled in for
every language from the words the title was built with; any other row keeps showing its
stored text, as before. Bodies stay as stored (mostly what a person typed).
"""

import re

from django.conf import settings
from django.db import migrations, models
from django.utils import translation

# The titles the services sent when this migration was written (core approvals and
# compensation disputes).
TITLES = [
    "待审批：%(title)s",
    "审批已通过：%(t)s",
    "审批被驳回：%(t)s",
    "审批被退回：%(t)s",
    "审批已撤回：%(t)s",
    "会员 %(no)s 对结算明细提出疑问",
    "会员 %(no)s 回复了奖金疑问",
    "财务已答复您的奖金疑问",
    "奖金疑问 #%(id)s 已关闭",
]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def _fill_texts(apps, schema_editor):  # type: ignore[no-untyped-def]
    notification = apps.get_model("core", "Notification")
    languages = [code for code, _name in settings.LANGUAGES]
    rendered: dict[str, dict[str, str]] = {}
    for template in TITLES:
        rendered[template] = {}
        for code in languages:
            with translation.override(code):
                rendered[template][code] = translation.gettext(template)
    patterns = [
        (template, _pattern(text))
        for template, by_lang in rendered.items()
        for text in {*by_lang.values()}
    ]
    changed = []
    for row in notification.objects.only("pk", "title", "body").iterator():
        for template, pattern in patterns:
            m = pattern.match(row.title)
            if m is None:
                continue
            row.texts = {
                code: [(rendered[template][code] % m.groupdict())[:200], row.body]
                for code in languages
            }
            changed.append(row)
            break
    notification.objects.bulk_update(changed, ["texts"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_scheduledjobstate"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="texts",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(_fill_texts, migrations.RunPython.noop),
    ]
