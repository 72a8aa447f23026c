"""A published questionnaire version never changes: the database refuses edits and deletes.

Only `is_current` may change (a newer version takes over); the definition, version, url and
publication time are frozen, so a response's pinned version means the same thing forever.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION questionnaire_version_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a published questionnaire version cannot be deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.definition IS DISTINCT FROM OLD.definition
       OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.url IS DISTINCT FROM OLD.url
       OR NEW.questionnaire_id IS DISTINCT FROM OLD.questionnaire_id
       OR NEW.published_at IS DISTINCT FROM OLD.published_at THEN
        RAISE EXCEPTION 'a published questionnaire version never changes; publish a new version'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER questionnaire_version_no_edits
    BEFORE UPDATE OR DELETE ON intake_questionnaireversion
    FOR EACH ROW EXECUTE FUNCTION questionnaire_version_immutable();
"""

REVERSE = """
DROP TRIGGER IF EXISTS questionnaire_version_no_edits ON intake_questionnaireversion;
DROP FUNCTION IF EXISTS questionnaire_version_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
