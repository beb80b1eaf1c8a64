-- one row per enterprise on the whitelist at as_of; key: credit_code
-- R1/R2 rolled up: roster size, within interval, overdue, never tested, the longest any overdue entry
-- has gone since a sample and the latest time an overdue entry fell due; summed over the enterprise's
-- staff classes (staff_testing). Enterprises without a roster keep a row of zeros so they show up as gaps.
CREATE OR REPLACE MACRO enterprise_testing(as_of) AS TABLE
WITH counts AS (
    SELECT
        credit_code, county_code, city_code, sector,
        CAST(sum(count_employees) AS BIGINT) AS count_employees,
        CAST(sum(count_within_interval) AS BIGINT) AS count_within_interval,
        CAST(sum(count_overdue) AS BIGINT) AS count_overdue,
        CAST(sum(count_never_tested) AS BIGINT) AS count_never_tested,
        max(max_hours_since_sample) AS max_hours_since_sample,
        max(last_due_at) AS last_due_at
    FROM staff_testing(as_of)
    GROUP BY credit_code, county_code, city_code, sector
)
SELECT
    s.credit_code, s.enterprise_name, s.county_code, s.county_name, s.city_code, s.city_name,
    s.sector, s.headcount, s.county_state, s.is_emergency, s.is_closed_loop, s.production_status,
    coalesce(c.count_employees, 0) AS count_employees,
    coalesce(c.count_within_interval, 0) AS count_within_interval,
    coalesce(c.count_overdue, 0) AS count_overdue,
    coalesce(c.count_never_tested, 0) AS count_never_tested,
    c.count_within_interval / nullif(c.count_employees, 0) AS coverage_rate,
    c.max_hours_since_sample,
    c.last_due_at
FROM enterprise_status(as_of) AS s
-- The scope columns in the join let a county/city/sector filter on the result reach staff_testing.
LEFT JOIN counts AS c USING (credit_code, county_code, city_code, sector);
