-- one row per person per sample time, with the person's next sample time; key: person_key, sampled_at
-- The ingest-maintained rollup raw.test_spans (fourguard/rollups.py). The sample in force at t is
-- the row whose span holds t (span_holds).
CREATE OR REPLACE VIEW stg_test_spans AS
SELECT person_key, sampled_at, result, tube, next_sampled_at
FROM raw.test_spans;
