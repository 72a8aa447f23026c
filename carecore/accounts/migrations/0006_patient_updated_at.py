"""Patient.updated_at, kept by triggers: FHIR's Patient.meta.lastUpdated and `_since` follow
demographic changes (docs/fhir.md), whichever code path makes them (services, admin, SQL)."""

import django.utils.timezone
from django.db import migrations, models

TRIGGERS = """
CREATE FUNCTION accounts_patient_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER accounts_patient_touch
    BEFORE UPDATE OF date_of_birth, state ON accounts_patient
    FOR EACH ROW
    WHEN (OLD.date_of_birth IS DISTINCT FROM NEW.date_of_birth
          OR OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION accounts_patient_touch();

CREATE FUNCTION accounts_user_touches_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts_patient SET updated_at = now() WHERE user_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER accounts_user_touches_patient
    AFTER UPDATE OF first_name, last_name, email, phone, is_active ON accounts_user
    FOR EACH ROW
    WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name
          OR OLD.last_name IS DISTINCT FROM NEW.last_name
          OR OLD.email IS DISTINCT FROM NEW.email
          OR OLD.phone IS DISTINCT FROM NEW.phone
          OR OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION accounts_user_touches_patient();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS accounts_user_touches_patient ON accounts_user;
DROP FUNCTION IF EXISTS accounts_user_touches_patient();
DROP TRIGGER IF EXISTS accounts_patient_touch ON accounts_patient;
DROP FUNCTION IF EXISTS accounts_patient_touch();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_break_glass_grants_immutable")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        # Existing patients: nothing is known to have changed since registration.
        migrations.RunSQL(
            "UPDATE accounts_patient SET updated_at = created_at", migrations.RunSQL.noop
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
