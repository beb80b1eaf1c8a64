-- one row per day in [start_on, end_on] per enterprise in scope (county / city / sector, and codes: a
-- list of credit codes; NULL = all) on the whitelist at that day's check time; key: day, credit_code
-- The daily R1/R2 counts computed from the spans, with the county state left open: the rollup
-- raw.testing_days stores these rows (fourguard/rollups.py) and queries.testing_daily_sql computes the days it
-- lacks with this same macro, so both are one rule.
-- Check times: check_times (24:00 for a day before as_of's date, as_of on its date; later days left
-- out). At a check the rules are those of employee_status(check_at): the
-- whitelist then, closed loop from the latest report dated on or before that day, and the strictest
-- interval of 常态 / 流动岗位 / 闭环生产 (count_within_base); count_within_emergency adds 县区应急, for
-- the reader to pick by the county's state at check_at, which app switches can change at any time.
-- A person is within when the sample in force at check_at (its span holds check_at) is no older than
-- the interval, both ends inclusive. Read per staff class (stg_staff_spans), as staff_testing does.
-- class_from / class_to: the lowest and highest staff class id in scope (NULL: not given), constants
-- that let the span scan skip the row groups of other counties' classes (queries.testing_daily_sql).
CREATE OR REPLACE MACRO testing_days(start_on, end_on, as_of, county, city, sector, codes, class_from, class_to) AS TABLE
WITH checks AS (
    -- with the oldest sample each configured interval counts at the check, and the oldest of them
    SELECT c.day, c.check_at,
           c.check_at - hours_to_interval(st.normal_interval_hours) AS normal_from,
           c.check_at - hours_to_interval(st.mobile_interval_hours) AS mobile_from,
           c.check_at - hours_to_interval(st.emergency_interval_hours) AS emergency_from,
           c.check_at - hours_to_interval(st.closed_loop_interval_hours) AS closed_loop_from,
           least(normal_from, mobile_from, emergency_from, closed_loop_from) AS oldest_at
    FROM check_times(start_on, end_on, as_of) AS c CROSS JOIN stg_settings AS st
),
scoped AS (
    SELECT w.credit_code FROM stg_enterprises AS w
    WHERE (county IS NULL OR w.county_code = county) AND (city IS NULL OR w.city_code = city)
      AND (sector IS NULL OR w.sector = sector)  -- qualified: a bare `sector` is the argument
      AND (codes IS NULL OR w.credit_code IN (SELECT unnest(CAST(codes AS VARCHAR[]))))
),
reports AS (
    -- each report holds from its date until the next one (stg_report_spans): those in force on a day
    -- from the first one on, dated up to the last (later reports cannot matter)
    SELECT credit_code, report_date, status, next_report_date
    FROM stg_report_spans
    WHERE credit_code IN (SELECT credit_code FROM scoped) AND report_date <= CAST(end_on AS DATE)
      AND (next_report_date IS NULL OR next_report_date > (SELECT min(day) FROM checks))
),
enterprises AS (
    SELECT
        c.day, c.check_at, w.credit_code, w.county_code, w.city_code, w.sector,
        coalesce(p.status = '闭环生产', false) AS is_closed_loop
    FROM checks AS c
    JOIN stg_enterprises AS w
      ON w.listed_at <= c.check_at AND (w.removed_at IS NULL OR w.removed_at > c.check_at)
    LEFT JOIN reports AS p
      ON p.credit_code = w.credit_code AND p.report_date <= c.day
     AND (p.next_report_date IS NULL OR p.next_report_date > c.day)
    WHERE w.credit_code IN (SELECT credit_code FROM scoped)
),
classes AS (
    SELECT c.class_id, c.credit_code, c.is_mobile, c.count_employees
    FROM stg_staff_classes AS c
    WHERE c.credit_code IN (SELECT credit_code FROM scoped)
),
headcounts AS (
    SELECT credit_code, CAST(sum(count_employees) AS BIGINT) AS count_employees FROM classes GROUP BY credit_code
),
rules AS (
    -- each staff class on each day its enterprise is whitelisted: its interval without and with 应急
    SELECT
        x.day, c.class_id, x.credit_code,
        required_interval_hours(st, c.is_mobile, false, x.is_closed_loop) AS base_hours,
        required_interval_hours(st, c.is_mobile, true, x.is_closed_loop) AS emergency_hours
    FROM enterprises AS x
    JOIN classes AS c ON c.credit_code = x.credit_code
    CROSS JOIN stg_settings AS st
),
in_force AS (
    -- the sample in force at each check (its span holds check_at), if it could still be in time
    SELECT s.class_id, c.day, s.sampled_at, c.normal_from, c.mobile_from, c.emergency_from, c.closed_loop_from
    FROM (
        -- only spans still open at the first check can hold a check (the first check: start_on's 24:00,
        -- or as_of when that is earlier; check_times)
        SELECT s.class_id, s.sampled_at, coalesce(s.next_sampled_at, 'infinity'::TIMESTAMP) AS next_sampled_at
        FROM staff_spans_after(least(CAST(CAST(start_on AS DATE) AS TIMESTAMP) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND,
                                     CAST(as_of AS TIMESTAMP))) AS s
        WHERE s.sampled_at >= (SELECT min(oldest_at) FROM checks) AND s.sampled_at <= CAST(as_of AS TIMESTAMP)
          AND (class_from IS NULL OR s.class_id BETWEEN class_from AND class_to)
    ) AS s
    JOIN checks AS c
      ON s.sampled_at <= c.check_at AND s.next_sampled_at > c.check_at AND s.sampled_at >= c.oldest_at
),
class_counts AS (
    -- per class and day, the samples in force no older than each configured interval: grouped by
    -- integers, with no join on the millions of spans; a class's own interval is one of them
    SELECT
        f.day, f.class_id,
        count(*) FILTER (WHERE f.sampled_at >= f.normal_from) AS w_normal,
        count(*) FILTER (WHERE f.sampled_at >= f.mobile_from) AS w_mobile,
        count(*) FILTER (WHERE f.sampled_at >= f.emergency_from) AS w_emergency,
        count(*) FILTER (WHERE f.sampled_at >= f.closed_loop_from) AS w_closed_loop
    FROM in_force AS f
    GROUP BY f.day, f.class_id
),
judged AS (
    SELECT
        r.day, r.credit_code,
        sum(CASE r.base_hours WHEN st.normal_interval_hours THEN n.w_normal WHEN st.mobile_interval_hours THEN n.w_mobile
                 WHEN st.closed_loop_interval_hours THEN n.w_closed_loop END) AS count_within_base,
        sum(CASE r.emergency_hours WHEN st.normal_interval_hours THEN n.w_normal WHEN st.mobile_interval_hours THEN n.w_mobile
                 WHEN st.closed_loop_interval_hours THEN n.w_closed_loop WHEN st.emergency_interval_hours THEN n.w_emergency END)
            AS count_within_emergency
    FROM class_counts AS n
    JOIN rules AS r ON r.day = n.day AND r.class_id = n.class_id
    CROSS JOIN stg_settings AS st
    GROUP BY r.day, r.credit_code
)
SELECT
    x.day, x.check_at, x.credit_code, x.county_code, x.city_code, x.sector, x.is_closed_loop,
    coalesce(h.count_employees, 0) AS count_employees,
    CAST(coalesce(j.count_within_base, 0) AS BIGINT) AS count_within_base,
    CAST(coalesce(j.count_within_emergency, 0) AS BIGINT) AS count_within_emergency
FROM enterprises AS x
LEFT JOIN headcounts AS h ON h.credit_code = x.credit_code
LEFT JOIN judged AS j ON j.day = x.day AND j.credit_code = x.credit_code;
