"""Published care plans never change: the database refuses edits to them and their contents.

Goals and activities may be inserted, updated or deleted only while their plan is a draft. A
published plan's row may change only from active to superseded (with its superseded_at).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION care_plan_item_only_in_draft() RETURNS trigger AS $$
DECLARE
    plan_status text;
BEGIN
    SELECT status INTO plan_status FROM intake_careplan
        WHERE id = COALESCE(NEW.plan_id, OLD.plan_id);
    IF plan_status IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'a published care plan never changes (% on %)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER care_plan_goal_only_in_draft
    BEFORE INSERT OR UPDATE OR DELETE ON intake_careplangoal
    FOR EACH ROW EXECUTE FUNCTION care_plan_item_only_in_draft();
CREATE TRIGGER care_plan_activity_only_in_draft
    BEFORE INSERT OR UPDATE OR DELETE ON intake_careplanactivity
    FOR EACH ROW EXECUTE FUNCTION care_plan_item_only_in_draft();

CREATE OR REPLACE FUNCTION care_plan_published_is_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'a published care plan cannot be deleted'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'active' AND NEW.status = 'superseded'
       AND NEW.summary IS NOT DISTINCT FROM OLD.summary
       AND NEW.published_at IS NOT DISTINCT FROM OLD.published_at
       AND NEW.patient_id = OLD.patient_id AND NEW.number = OLD.number THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a published care plan never changes'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER care_plan_published_frozen
    BEFORE UPDATE OR DELETE ON intake_careplan
    FOR EACH ROW EXECUTE FUNCTION care_plan_published_is_frozen();
"""

REVERSE = """
DROP TRIGGER IF EXISTS care_plan_published_frozen ON intake_careplan;
DROP FUNCTION IF EXISTS care_plan_published_is_frozen();
DROP TRIGGER IF EXISTS care_plan_goal_only_in_draft ON intake_careplangoal;
DROP TRIGGER IF EXISTS care_plan_activity_only_in_draft ON intake_careplanactivity;
DROP FUNCTION IF EXISTS care_plan_item_only_in_draft();
"""


class Migration(migrations.Migration):
    dependencies = [("intake", "0003_careplan_careplanactivity_careplangoal_checkin_and_more")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
