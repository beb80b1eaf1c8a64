-- one row per roster entry of an enterprise on the whitelist at as_of; key: credit_code, person_key
-- R1/R2: the required interval is the one of the entry's staff class (class_rules). Within interval when
-- the last sample at or before as_of has as_of - interval <= sampled_at (both ends inclusive);
-- overdue otherwise. staff_testing counts the same per class.
CREATE OR REPLACE MACRO employee_status(as_of) AS TABLE
WITH last_test AS (
    -- the sample in force at as_of, from the ingest-maintained spans (not an aggregate over all tests)
    SELECT
        person_key,
        sampled_at AS last_sampled_at,
        result AS last_result,
        tube AS last_tube
    FROM stg_test_spans
    WHERE span_holds(sampled_at, next_sampled_at, as_of)
),
-- the roster entries of whitelisted enterprises, with their class's rule
ruled AS (
    SELECT
        e.credit_code, e.person_key, e.id_masked, e.person_name, e.job_type,
        c.enterprise_name, c.county_code, c.county_name, c.city_code, c.city_name, c.sector,
        c.county_state, c.is_emergency, c.is_closed_loop, c.interval_hours, c.interval_rule_code, c.interval_rule,
        c.within_from
    FROM stg_employees AS e
    JOIN class_rules(as_of) AS c ON c.credit_code = e.credit_code AND c.is_mobile = e.is_mobile_job
)
SELECT
    r.credit_code, r.person_key, r.id_masked, r.person_name, r.job_type,
    r.enterprise_name, r.county_code, r.county_name, r.city_code, r.city_name, r.sector,
    r.county_state, r.is_emergency, r.is_closed_loop,
    r.interval_hours,
    r.interval_rule_code,
    r.interval_rule,
    t.last_sampled_at,
    t.last_result,
    t.last_tube,
    date_diff('microsecond', t.last_sampled_at, CAST(as_of AS TIMESTAMP)) / 3600000000.0 AS hours_since_sample,
    t.last_sampled_at + hours_to_interval(r.interval_hours) AS due_at,
    t.last_sampled_at IS NULL AS is_never_tested,
    coalesce(t.last_sampled_at >= r.within_from, false) AS is_within_interval,
    NOT coalesce(t.last_sampled_at >= r.within_from, false) AS is_overdue
FROM ruled AS r
LEFT JOIN last_test AS t ON t.person_key = r.person_key;
