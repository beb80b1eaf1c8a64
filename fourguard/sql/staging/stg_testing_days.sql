-- one row per enterprise and day; key: day, credit_code
-- The ingest-maintained rollup raw.testing_days (fourguard/rollups.py): testing_days' rows for the
-- days in stg_testing_days_range, each judged at 24:00. County, city and sector are the registry's
-- as read now (a city comes from the region data, which a release may update), as testing_days has them.
CREATE OR REPLACE VIEW stg_testing_days AS
SELECT d.day, d.check_at, d.credit_code, e.county_code, e.city_code, e.sector, d.is_closed_loop,
       d.count_employees, d.count_within_base, d.count_within_emergency
FROM raw.testing_days AS d
JOIN stg_enterprises AS e ON e.credit_code = d.credit_code;
