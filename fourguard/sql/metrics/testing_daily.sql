-- one row per day in [start_on, end_on] per enterprise in scope (county / city / sector, NULL =
-- all) on the whitelist at that day's check time; key: day, credit_code
-- The daily trend of R1/R2 in one pass. Each day is checked at as_of's time of day (check_at = day
-- + the time of as_of); days whose check time is after as_of are left out, so the row of as_of's
-- date is as_of itself and agrees with employee_status(as_of). At each check time the rules are
-- those of employee_status(check_at): the whitelist then, the county state then (latest change
-- with since <= check_at), closed loop from the latest report dated on or before that day, the
-- strictest interval of 常态 / 流动岗位 / 县区应急 / 闭环生产, and within when the last sample at or
-- before check_at is no older than the interval (both ends count). An ASOF join finds the last
-- sample per person and check time without a per-day scan; names are joined last so the wide
-- columns stay out of the 员工×日 rows. The scope narrows the enterprises and the samples before
-- the join, so a county's trend does not sort the whole province's samples.
CREATE OR REPLACE MACRO testing_daily(start_on, end_on, as_of, county, city, sector) AS TABLE
WITH checks AS (
    SELECT
        CAST(d AS DATE) AS day,
        CAST(d AS TIMESTAMP) + (CAST(as_of AS TIMESTAMP) - date_trunc('day', CAST(as_of AS TIMESTAMP))) AS check_at
    FROM range(CAST(CAST(start_on AS DATE) AS TIMESTAMP),
               CAST(CAST(end_on AS DATE) AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY) AS r(d)
    WHERE CAST(d AS TIMESTAMP) + (CAST(as_of AS TIMESTAMP) - date_trunc('day', CAST(as_of AS TIMESTAMP)))
          <= CAST(as_of AS TIMESTAMP)
),
states AS (
    SELECT c.check_at, s.county_code, arg_max(s.is_emergency, s.state_seq) AS is_emergency
    FROM checks AS c
    JOIN stg_county_states AS s ON s.since <= c.check_at
    GROUP BY c.check_at, s.county_code
),
reports AS (
    -- each report holds from its date until the next one (a plain join: an ASOF join here can turn
    -- into a slow loop join when few days are asked for)
    SELECT credit_code, report_date, status,
           lead(report_date) OVER (PARTITION BY credit_code ORDER BY report_date) AS next_report_date
    FROM stg_production
),
enterprises AS (
    SELECT
        c.day, c.check_at, w.credit_code, w.county_code, w.city_code, w.sector,
        coalesce(s.is_emergency, false) AS is_emergency,
        coalesce(p.status = '闭环生产', false) AS is_closed_loop
    FROM checks AS c
    JOIN stg_enterprises AS w
      ON w.listed_at <= c.check_at AND (w.removed_at IS NULL OR w.removed_at > c.check_at)
     AND (county IS NULL OR w.county_code = county) AND (city IS NULL OR w.city_code = city)
     AND (sector IS NULL OR w.sector = sector)
    LEFT JOIN states AS s ON s.check_at = c.check_at AND s.county_code = w.county_code
    LEFT JOIN reports AS p
      ON p.credit_code = w.credit_code AND p.report_date <= c.day
     AND (p.next_report_date IS NULL OR p.next_report_date > c.day)
),
samples AS (
    -- samples of staff in scope; one older than the first check minus the longest interval (常态)
    -- is never in time
    SELECT t.person_key, t.sampled_at
    FROM stg_tests AS t
    CROSS JOIN stg_settings AS st
    WHERE t.sampled_at <= CAST(as_of AS TIMESTAMP)
      AND t.sampled_at >= CAST(CAST(start_on AS DATE) AS TIMESTAMP)
                          + (CAST(as_of AS TIMESTAMP) - date_trunc('day', CAST(as_of AS TIMESTAMP)))
                          - hours_to_interval(st.normal_interval_hours)
      AND (county IS NULL AND city IS NULL AND sector IS NULL OR t.person_key IN (
          SELECT e.person_key FROM stg_employees AS e JOIN stg_enterprises AS w ON w.credit_code = e.credit_code
          WHERE (county IS NULL OR w.county_code = county) AND (city IS NULL OR w.city_code = city)
            AND (sector IS NULL OR w.sector = sector)))
),
staff AS (
    -- referenced once, so a scope filter on the result reaches down to the enterprises
    SELECT
        x.*,
        e.person_key,
        least(
            st.normal_interval_hours,
            CASE WHEN e.is_mobile_job THEN st.mobile_interval_hours END,
            CASE WHEN x.is_emergency THEN st.emergency_interval_hours END,
            CASE WHEN x.is_closed_loop THEN st.closed_loop_interval_hours END
        ) AS interval_hours
    FROM enterprises AS x
    CROSS JOIN stg_settings AS st
    LEFT JOIN stg_employees AS e ON e.credit_code = x.credit_code
)
SELECT
    a.day, a.check_at, a.credit_code, e.enterprise_name, a.county_code, e.county_name,
    a.city_code, e.city_name, a.sector, a.is_emergency, a.is_closed_loop,
    a.count_employees, a.count_within_interval, a.count_overdue
FROM (
    SELECT
        s.day, s.credit_code, s.county_code, s.city_code, s.sector,
        any_value(s.check_at) AS check_at, any_value(s.is_emergency) AS is_emergency,
        any_value(s.is_closed_loop) AS is_closed_loop,
        count(s.person_key) AS count_employees,
        count(s.person_key) FILTER (WHERE t.sampled_at >= s.check_at - hours_to_interval(s.interval_hours))
            AS count_within_interval,
        count(s.person_key) FILTER (WHERE t.sampled_at IS NULL
                                       OR t.sampled_at < s.check_at - hours_to_interval(s.interval_hours))
            AS count_overdue
    FROM staff AS s
    ASOF LEFT JOIN samples AS t ON t.person_key = s.person_key AND t.sampled_at <= s.check_at
    GROUP BY s.day, s.credit_code, s.county_code, s.city_code, s.sector
) AS a
JOIN stg_enterprises AS e ON e.credit_code = a.credit_code;
