"""The default sales process from the seed's 销售流程 (线索获取 → 潜在客户开发 → 需求分析 →
报价 → 谈判 → 签约), as stages with win probabilities. The end (赢单/输单/无效) is not a
stage. Admins change it, or add groups for departments, on the 商机阶段 page."""

from django.db import migrations

STAGES = (("初步接洽", 10), ("需求分析", 25), ("方案报价", 50), ("商务谈判", 75), ("签约", 90))


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    StageGroup = apps.get_model("crm", "StageGroup")
    Stage = apps.get_model("crm", "Stage")
    if StageGroup.objects.filter(is_default=True).exists():
        return
    group = StageGroup.objects.create(name="标准销售流程", is_default=True)
    for order, (name, probability) in enumerate(STAGES, start=1):
        Stage.objects.create(group=group, name=name, probability=probability, order=order)


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_opportunities")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
