-- one row per roster entry per sample time, under the entry's staff class; key: class_id, person_key, sampled_at
-- The ingest-maintained rollup raw.staff_spans (fourguard/rollups.py): stg_test_spans joined with the
-- roster. The sample in force at t is the row whose span holds t (span_holds); an entry with no such
-- row had no sample by t.
CREATE OR REPLACE VIEW stg_staff_spans AS
SELECT class_id, sampled_at, next_sampled_at
FROM raw.staff_spans;
