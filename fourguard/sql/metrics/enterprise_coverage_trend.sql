-- one row per day for one enterprise; key: day
-- R1/R2 evaluated at `day + time_of_day` for each day in [start_day, end_day], with that moment's county
-- state and closed-loop status (the same rules as employee_status, for a single enterprise's staff, via
-- ASOF joins so it reads only that staff's samples). Days when the enterprise was off the whitelist
-- have is_listed = false and no counts.
CREATE OR REPLACE MACRO enterprise_coverage_trend(code, start_day, end_day, time_of_day) AS TABLE
WITH moments AS (
    SELECT CAST(d AS DATE) AS day, CAST(d AS DATE) + CAST(time_of_day AS TIME) AS t
    FROM generate_series(CAST(start_day AS DATE), CAST(end_day AS DATE), INTERVAL 1 DAY) AS g(d)
),
ent AS (
    SELECT credit_code, county_code, listed_at, removed_at FROM stg_enterprises WHERE credit_code = code
),
ent_days AS (
    SELECT m.day, m.t, e.credit_code, e.county_code,
           e.listed_at <= m.t AND (e.removed_at IS NULL OR e.removed_at > m.t) AS is_listed
    FROM moments AS m CROSS JOIN ent AS e
),
with_state AS (
    SELECT d.*, coalesce(cs.is_emergency, false) AS is_emergency
    FROM ent_days AS d
    ASOF LEFT JOIN stg_county_states AS cs ON cs.county_code = d.county_code AND cs.since <= d.t
),
with_loop AS (
    SELECT s.*, coalesce(p.status = '闭环生产', false) AS is_closed_loop
    FROM with_state AS s
    ASOF LEFT JOIN stg_production AS p ON p.credit_code = s.credit_code AND p.report_date <= CAST(s.t AS DATE)
),
staff_days AS (
    SELECT w.day, w.t, w.is_listed, e.person_key,
        least(
            st.normal_interval_hours,
            CASE WHEN e.is_mobile_job THEN st.mobile_interval_hours END,
            CASE WHEN w.is_emergency THEN st.emergency_interval_hours END,
            CASE WHEN w.is_closed_loop THEN st.closed_loop_interval_hours END
        ) AS interval_hours
    FROM with_loop AS w
    JOIN stg_employees AS e ON e.credit_code = w.credit_code
    CROSS JOIN stg_settings AS st
),
staff_tests AS (
    SELECT person_key, sampled_at FROM stg_tests
    WHERE person_key IN (SELECT person_key FROM stg_employees WHERE credit_code = code)
),
judged AS (
    SELECT s.day, s.is_listed,
           coalesce(tt.sampled_at >= s.t - hours_to_interval(s.interval_hours), false) AS is_within_interval
    FROM staff_days AS s
    ASOF LEFT JOIN staff_tests AS tt ON tt.person_key = s.person_key AND tt.sampled_at <= s.t
)
SELECT
    m.day,
    m.t AS evaluated_at,
    coalesce(bool_or(j.is_listed), (SELECT bool_or(is_listed) FROM ent_days AS x WHERE x.day = m.day), false) AS is_listed,
    count(j.day) FILTER (WHERE j.is_listed) AS count_employees,
    count(j.day) FILTER (WHERE j.is_listed AND j.is_within_interval) AS count_within_interval,
    count(j.day) FILTER (WHERE j.is_listed AND NOT j.is_within_interval) AS count_overdue
FROM moments AS m
LEFT JOIN judged AS j ON j.day = m.day
GROUP BY m.day, m.t
ORDER BY m.day;
