-- Seed for bench/messaging_reads.py: :patients patients, 10 threads each, 10 messages per thread.
-- Panels are fixed at :panel patients per lead clinician (plus one coordinator each): a bigger
-- clinic has more clinicians, not bigger panels, so the 1% and full seeds differ in table size
-- only. Ids are md5-derived so
-- runs are repeatable. Message 6 of each thread is an internal note; 1 in 3 threads is closed.

INSERT INTO accounts_user (id, password, is_superuser, email, first_name, last_name, role,
                           timezone, phone, is_active, is_staff, date_joined, preferred_name)
SELECT md5('pu' || i)::uuid, '!', false, 'p' || i || '@bench.test', 'Pat', 'Ient' || i,
       'patient', 'America/New_York', '', true, false, now(), ''
FROM generate_series(1, :patients) AS i;

INSERT INTO accounts_user (id, password, is_superuser, email, first_name, last_name, role,
                           timezone, phone, is_active, is_staff, date_joined, preferred_name)
SELECT md5(kind || c)::uuid, '!', false, kind || c || '@bench.test', 'Staff', kind || c,
       CASE kind WHEN 'cu' THEN 'clinician' ELSE 'coordinator' END, 'America/New_York', '',
       true, false, now(), ''
FROM generate_series(1, (:patients + :panel - 1) / :panel) AS c, (VALUES ('cu'), ('ku')) AS k(kind);

INSERT INTO accounts_clinician (id, user_id, credentials, specialties, licensed_states,
                                visit_types, bio, accepting_new_patients, is_clinical_lead)
SELECT md5('c' || c)::uuid, md5('cu' || c)::uuid, 'MD', '{dermatology}', '{NY}',
       '{new,follow_up}', '', true, c = 1
FROM generate_series(1, (:patients + :panel - 1) / :panel) AS c;

INSERT INTO accounts_patient (id, user_id, date_of_birth, state, created_at, updated_at)
SELECT md5('p' || i)::uuid, md5('pu' || i)::uuid, date '1990-01-01', 'NY', now(), now()
FROM generate_series(1, :patients) AS i;

INSERT INTO accounts_careteam (id, patient_id, lead_id, created_at, updated_at)
SELECT md5('ct' || i)::uuid, md5('p' || i)::uuid, md5('c' || ((i - 1) / :panel + 1))::uuid,
       now(), now()
FROM generate_series(1, :patients) AS i;

INSERT INTO accounts_careteammember (care_team_id, user_id, added_at)
SELECT md5('ct' || i)::uuid, md5(kind || ((i - 1) / :panel + 1))::uuid, now()
FROM generate_series(1, :patients) AS i, (VALUES ('cu'), ('ku')) AS k(kind);

-- Threads: thread t belongs to patient (t - 1) / 10 + 1.
INSERT INTO messaging_thread (id, patient_id, subject, category, status, priority, assignee_id,
                              created_by_id, created_at, last_message_at, last_public_message_id,
                              message_count, public_message_count, awaiting_since,
                              first_response_due_at, after_hours_reply_until, closed_at)
SELECT md5('t' || t)::uuid, md5('p' || ((t - 1) / 10 + 1))::uuid, 'Bench subject ' || t,
       'clinical',
       CASE WHEN t % 3 = 0 THEN 'closed' WHEN t % 3 = 1 THEN 'open' ELSE 'waiting_on_patient' END,
       CASE WHEN t % 50 = 0 THEN 'urgent' ELSE 'routine' END,
       CASE WHEN t % 4 = 0 THEN md5('ku' || (((t - 1) / 10) / :panel + 1))::uuid END,
       md5('pu' || ((t - 1) / 10 + 1))::uuid,
       timestamptz '2025-01-01' + t * interval '37 seconds',
       timestamptz '2025-01-01' + t * interval '37 seconds' + interval '10 minutes',
       NULL, 10, 9,
       CASE WHEN t % 3 = 1 THEN timestamptz '2025-01-01' + t * interval '37 seconds' END,
       CASE WHEN t % 3 = 1 THEN timestamptz '2025-01-01' + t * interval '37 seconds' + interval '4 hours' END,
       NULL,
       CASE WHEN t % 3 = 0 THEN timestamptz '2025-01-01' + t * interval '37 seconds' + interval '1 day' END
FROM generate_series(1, :patients * 10) AS t;

-- Messages are partitioned by month (messaging migration 0003): the months the seed writes into
-- (thread t starts at 2025-01-01 + t * 37 s, its messages within 10 minutes), as beat would
-- have created them when they were the current month.
SELECT carecore_month_partition('messaging_message', month::date)
FROM generate_series(timestamp '2025-01-01',
                     timestamp '2025-01-01' + :patients * 10 * interval '37 seconds'
                                            + interval '10 minutes',
                     interval '1 month') AS month;

INSERT INTO messaging_message (id, thread_id, sender_id, sender_kind, body, internal, client_id,
                               created_at, position, public_position, triage_flags,
                               triage_hits, triage_discounted)
SELECT md5('m' || t || '-' || j)::uuid, md5('t' || t)::uuid,
       CASE WHEN j % 2 = 1 THEN md5('pu' || ((t - 1) / 10 + 1))::uuid
            ELSE md5('cu' || (((t - 1) / 10) / :panel + 1))::uuid END,
       CASE WHEN j % 2 = 1 THEN 'patient' ELSE 'staff' END,
       'Bench message ' || j || ' of thread ' || t || ': the rash on my forearm is about the same.',
       j = 6, NULL,
       timestamptz '2025-01-01' + t * interval '37 seconds' + j * interval '1 minute',
       j, CASE WHEN j >= 6 THEN j - 1 ELSE j END, '[]'::jsonb, '[]'::jsonb, '[]'::jsonb
FROM generate_series(1, :patients * 10) AS t, generate_series(1, 10) AS j;

UPDATE messaging_thread SET last_public_message_id = md5('m' || substr(subject, 15) || '-10')::uuid;

-- Patients have read their threads up to position 8; staff have read every other thread.
INSERT INTO messaging_threadreadstate (thread_id, user_id, read_position, read_public_position, read_at)
SELECT md5('t' || t)::uuid, md5('pu' || ((t - 1) / 10 + 1))::uuid, 8, 7, now()
FROM generate_series(1, :patients * 10) AS t;
INSERT INTO messaging_threadreadstate (thread_id, user_id, read_position, read_public_position, read_at)
SELECT md5('t' || t)::uuid, md5('cu' || (((t - 1) / 10) / :panel + 1))::uuid, 10, 9, now()
FROM generate_series(1, :patients * 10) AS t WHERE t % 2 = 0;

ANALYZE;
