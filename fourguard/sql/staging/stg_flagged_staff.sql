-- one row per roster entry of a person in stg_flagged_tests or stg_flagged_scans; key: credit_code, person_key
-- The ingest-maintained rollup raw.flagged_staff (fourguard/rollups.py): stg_employees' rows of
-- those people, which is every roster entry R8's rechecks, R15's positives and R4's scans look up.
CREATE OR REPLACE VIEW stg_flagged_staff AS
SELECT
    credit_code,
    person_key,
    id_masked,
    name AS person_name,
    job_type
FROM raw.flagged_staff;
