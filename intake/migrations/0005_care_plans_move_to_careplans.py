"""Care plans now belong to the careplans app (careplans 0001 took the tables over).

State only: the tables are not touched here.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_published_care_plans_are_immutable"),
        ("careplans", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CheckIn"),
                migrations.DeleteModel(name="CarePlanGoal"),
                migrations.DeleteModel(name="CarePlanActivity"),
                migrations.DeleteModel(name="CarePlan"),
            ],
            database_operations=[],
        ),
    ]
