"""Break-glass grants are immutable at the database level: UPDATE and DELETE raise.

A grant and its written reason are the record of why someone outside the care team read a
patient's data; like the audit trail (audit 0002) they are never changed or removed. TRUNCATE is
left to privileges, as for the audit table (the test runner empties tables between
transactional tests).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION break_glass_grant_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'accounts_breakglassgrant is immutable (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER break_glass_grant_no_update_or_delete
    BEFORE UPDATE OR DELETE ON accounts_breakglassgrant
    FOR EACH ROW EXECUTE FUNCTION break_glass_grant_immutable();
"""

REVERSE = """
DROP TRIGGER IF EXISTS break_glass_grant_no_update_or_delete ON accounts_breakglassgrant;
DROP FUNCTION IF EXISTS break_glass_grant_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_mfa_enrollment_code")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
