-- one row per sample of a person with a 阳性 or 待复核 result; key: sample_id, person_key
-- The ingest-maintained rollup raw.flagged_tests (fourguard/rollups.py): stg_tests' rows of those
-- people, which is every row R8's rechecks and R15's positives read.
CREATE OR REPLACE VIEW stg_flagged_tests AS
SELECT
    sample_id,
    person_key,
    sampled_at,
    result,
    resulted_at,
    coalesce(resulted_at, sampled_at) AS result_at,
    tube,
    pool_id,
    site
FROM raw.flagged_tests;
