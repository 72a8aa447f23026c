-- The audit INSERT of an inbox page, two shapes (docs/benchmarks.md, "One audit event per list").
-- Run against any scratch PostgreSQL database; it makes and drops its own table bench_audit_shapes:
--   psql -h localhost -d test -q -f bench/audit_list_event_insert.sql
-- 50 rows, one per patient shown (before issue #14's change), against one row naming all 50
-- patients in patient_ids (with and without its GIN index), 2,000 pages each, twice.

DROP TABLE IF EXISTS bench_audit_shapes;
CREATE TABLE bench_audit_shapes (id bigserial, occurred_at timestamptz, actor_id uuid, actor_role text, patient_id uuid, patient_ids uuid[] NOT NULL DEFAULT '{}', object_type text, object_id text, action text, outcome text, ip inet, request_id text, detail jsonb, PRIMARY KEY (id, occurred_at));
CREATE INDEX ON bench_audit_shapes (occurred_at); CREATE INDEX ON bench_audit_shapes (patient_id, occurred_at DESC); CREATE INDEX ON bench_audit_shapes (actor_id, occurred_at DESC);
CREATE INDEX IF NOT EXISTS a_gin ON bench_audit_shapes USING gin (patient_ids);
DROP TABLE IF EXISTS pts;
CREATE TEMP TABLE pts AS SELECT gen_random_uuid() p, g FROM generate_series(1,50) g;
-- warm: 2000 of each shape
DO $$
DECLARE t0 timestamptz; i int; ids uuid[]; objs jsonb;
BEGIN
  SELECT array_agg(p ORDER BY g) INTO ids FROM pts;
  SELECT jsonb_build_object('object_ids', jsonb_agg(gen_random_uuid()::text)) INTO objs FROM pts;
  FOR round IN 1..2 LOOP
  t0 := clock_timestamp();
  FOR i IN 1..2000 LOOP
    INSERT INTO bench_audit_shapes (occurred_at, actor_id, actor_role, patient_id, object_type, object_id, action, outcome, request_id, detail)
    SELECT now(), '00000000-0000-0000-0000-000000000001', 'clinician', p, 'message_thread', '', 'list', 'success', 'r', jsonb_build_object('object_ids', jsonb_build_array(gen_random_uuid()::text)) FROM pts;
  END LOOP;
  RAISE NOTICE '50 rows per page: % ms per page', round(extract(epoch from clock_timestamp()-t0)*1000/2000, 3);
  t0 := clock_timestamp();
  FOR i IN 1..2000 LOOP
    INSERT INTO bench_audit_shapes (occurred_at, actor_id, actor_role, patient_id, patient_ids, object_type, object_id, action, outcome, request_id, detail)
    VALUES (now(), '00000000-0000-0000-0000-000000000001', 'clinician', NULL, ids, 'message_thread', '', 'list', 'success', 'r', objs);
  END LOOP;
  RAISE NOTICE 'one row naming 50: % ms per page', round(extract(epoch from clock_timestamp()-t0)*1000/2000, 3);
  END LOOP;
END $$;
DROP INDEX a_gin;
DO $$
DECLARE t0 timestamptz; i int; ids uuid[]; objs jsonb;
BEGIN
  SELECT array_agg(p ORDER BY g) INTO ids FROM pts;
  SELECT jsonb_build_object('object_ids', jsonb_agg(gen_random_uuid()::text)) INTO objs FROM pts;
  t0 := clock_timestamp();
  FOR i IN 1..2000 LOOP
    INSERT INTO bench_audit_shapes (occurred_at, actor_id, actor_role, patient_id, patient_ids, object_type, object_id, action, outcome, request_id, detail)
    VALUES (now(), '00000000-0000-0000-0000-000000000001', 'clinician', NULL, ids, 'message_thread', '', 'list', 'success', 'r', objs);
  END LOOP;
  RAISE NOTICE 'one row naming 50, no GIN index: % ms per page', round(extract(epoch from clock_timestamp()-t0)*1000/2000, 3);
END $$;
DROP TABLE bench_audit_shapes;
