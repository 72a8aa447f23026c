"""Care plans move from intake to this app, keeping every row.

The four tables were created by intake (0003) and guarded by triggers (0004). Here this app
takes them over in the migration state only (no table is created or copied), then renames them
to this app's names, re-points the trigger function that names the plan table, and moves the
content types (so admin permissions and log entries follow the models). Intake 0005 drops the
models from intake's state. Reversible: migrating back renames the tables back.
Tested by tests/careplans/test_migration_from_intake.py.
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("careplan", "careplangoal", "careplanactivity", "checkin")

# The trigger function of intake 0004, naming the plan table by its new name. The triggers
# themselves are attached to the tables and follow the rename.
ITEM_ONLY_IN_DRAFT = """
CREATE OR REPLACE FUNCTION care_plan_item_only_in_draft() RETURNS trigger AS $$
DECLARE
    plan_status text;
BEGIN
    SELECT status INTO plan_status FROM {table}
        WHERE id = COALESCE(NEW.plan_id, OLD.plan_id);
    IF plan_status IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'a published care plan never changes (% on %)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
"""


def _move_content_types(apps, from_label, to_label):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=from_label, model__in=MODELS).update(app_label=to_label)


def content_types_forward(apps, schema_editor):
    _move_content_types(apps, "intake", "careplans")


def content_types_backward(apps, schema_editor):
    _move_content_types(apps, "careplans", "intake")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("intake", "0004_published_care_plans_are_immutable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CarePlan',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('number', models.PositiveIntegerField(help_text='1, 2, 3... per patient, in creation order.')),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('active', 'Active'), ('superseded', 'Superseded')], default='draft', max_length=16)),
                        ('summary', models.TextField(blank=True)),
                        ('source_response_ids', models.JSONField(default=list)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('published_at', models.DateTimeField(blank=True, null=True)),
                        ('superseded_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='care_plans', to='accounts.patient')),
                        ('published_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('supersedes', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='superseded_by', to='careplans.careplan')),
                    ],
                    options={'db_table': 'intake_careplan'},
                ),
                migrations.CreateModel(
                    name='CarePlanActivity',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('position', models.PositiveIntegerField()),
                        ('code', models.CharField(help_text="The rule that proposed it, or 'custom'.", max_length=64)),
                        ('rule_version', models.PositiveIntegerField(blank=True, null=True)),
                        ('category', models.CharField(max_length=32)),
                        ('title', models.CharField(max_length=200)),
                        ('instructions', models.TextField()),
                        ('rationale', models.TextField(blank=True)),
                        ('evidence', models.JSONField(default=list)),
                        ('plan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='careplans.careplan')),
                    ],
                    options={
                        'db_table': 'intake_careplanactivity',
                        'ordering': ['position'],
                    },
                ),
                migrations.CreateModel(
                    name='CarePlanGoal',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('position', models.PositiveIntegerField()),
                        ('code', models.CharField(help_text="The rule that proposed it, or 'custom'.", max_length=64)),
                        ('title', models.CharField(max_length=200)),
                        ('instrument', models.CharField(max_length=64)),
                        ('baseline', models.FloatField(blank=True, null=True)),
                        ('target_change', models.FloatField(help_text='A decrease of at least this much.')),
                        ('due_date', models.DateField(blank=True, null=True)),
                        ('repeat_every_weeks', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('plan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='goals', to='careplans.careplan')),
                    ],
                    options={
                        'db_table': 'intake_careplangoal',
                        'ordering': ['position'],
                    },
                ),
                migrations.CreateModel(
                    name='CheckIn',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('instrument', models.CharField(max_length=64)),
                        ('due_at', models.DateTimeField()),
                        ('reminded_at', models.DateTimeField(blank=True, null=True)),
                        ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                        ('goal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='check_ins', to='careplans.careplangoal')),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='check_ins', to='accounts.patient')),
                        ('response', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='check_in', to='intake.questionnaireresponse')),
                    ],
                    options={'db_table': 'intake_checkin'},
                ),
                migrations.AddIndex(
                    model_name='careplan',
                    index=models.Index(fields=['patient', 'status'], name='care_plan_patient_status'),
                ),
                migrations.AddConstraint(
                    model_name='careplan',
                    constraint=models.UniqueConstraint(fields=('patient', 'number'), name='care_plan_number_unique'),
                ),
                migrations.AddConstraint(
                    model_name='careplan',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'active')), fields=('patient',), name='care_plan_one_active'),
                ),
                migrations.AddConstraint(
                    model_name='careplan',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'draft')), fields=('patient',), name='care_plan_one_draft'),
                ),
                migrations.AddIndex(
                    model_name='checkin',
                    index=models.Index(condition=models.Q(('cancelled_at__isnull', True), ('reminded_at__isnull', True)), fields=['due_at'], name='checkin_due_unreminded'),
                ),
                migrations.AddIndex(
                    model_name='checkin',
                    index=models.Index(fields=['patient', 'instrument', 'due_at'], name='checkin_patient_due'),
                ),
                migrations.AddConstraint(
                    model_name='checkin',
                    constraint=models.UniqueConstraint(fields=('goal', 'due_at'), name='checkin_goal_due_unique'),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="careplan", table=None),
        migrations.AlterModelTable(name="careplangoal", table=None),
        migrations.AlterModelTable(name="careplanactivity", table=None),
        migrations.AlterModelTable(name="checkin", table=None),
        migrations.RunSQL(
            ITEM_ONLY_IN_DRAFT.format(table="careplans_careplan"),
            ITEM_ONLY_IN_DRAFT.format(table="intake_careplan"),
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
