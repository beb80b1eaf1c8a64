-- one row per enterprise and day; key: day, credit_code
-- The ingest-maintained rollup raw.testing_days (fourguard/rollups.py): testing_days' rows for the
-- days in stg_testing_days_range, each judged at 24:00.
CREATE OR REPLACE VIEW stg_testing_days AS
SELECT day, check_at, credit_code, county_code, city_code, sector, is_closed_loop,
       count_employees, count_within_base, count_within_emergency
FROM raw.testing_days;
