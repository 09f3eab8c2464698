"""Indexes for the opportunity kanban (商机看板) at 200,000 opportunities.

The board asks, for a scope (owner in a team, a department subtree, or everyone), the open
opportunities of one sales process: per stage the count and the sum of the amounts, and
the first 30 cards by expected close date. SQLite answered the sums through
(owner, status, stage) or (status, close_on) and read every row of the scope from the
table (10,000 for a manager, 100,000 for a director), and sorted each column's rows with
their joins. ``crm_opp_board`` holds all a board reads — stage, close date, amount, owner
and department (and the id, in every SQLite index and included on PostgreSQL): the sums
are one scan of the index and a column's first cards a walk of it in card order,
stopping after 30 of the scope's; the cards themselves are then read by primary key.
``crm_opp_owner_board`` is the same led by the owner, for a rep's or a team's board
(PostgreSQL reads the team's 10,000 entries instead of all open opportunities); it
replaces (owner, status, stage), whose prefix it keeps."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0008_lead_assignment")]

    operations = [
        migrations.RemoveIndex(model_name="opportunity", name="crm_opp_owner_status"),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                fields=["owner", "status", "group", "stage", "close_on", "amount"],
                include=("id",),
                name="crm_opp_owner_board",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                fields=["status", "group", "stage", "close_on", "amount", "owner", "department"],
                include=("id",),
                name="crm_opp_board",
            ),
        ),
    ]
