-- one row per day in [start_on, end_on] (up to as_of's date) per enterprise on the whitelist that
-- day; key: day, credit_code
-- The day's production report (status NULL = 未上报) and the enterprise's pre-emergency baseline:
-- the mean output, capacity and staff on duty over its reports dated before the day its county
-- first switched to 应急 (switches at or before as_of; basis '应急前'); when the county never
-- switched, or has no report before the switch, the mean over its reports in the first 3 days of
-- the range (basis '区间前3天'). On the whitelist on a day = listed_at <= day < removed_at (dates
-- as midnight, as in whitelist()). Reports dated after as_of's date are not seen.
CREATE OR REPLACE MACRO production_daily(start_on, end_on, as_of) AS TABLE
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST(CAST(start_on AS DATE) AS TIMESTAMP),
               CAST(CAST(end_on AS DATE) AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 DAY) AS r(d)
    WHERE CAST(d AS DATE) <= CAST(CAST(as_of AS TIMESTAMP) AS DATE)
),
first_emergency AS (
    SELECT county_code, min(since) AS emergency_since
    FROM stg_county_states
    WHERE is_emergency AND since <= CAST(as_of AS TIMESTAMP)
    GROUP BY county_code
),
pre_emergency AS (
    SELECT
        p.credit_code,
        avg(p.output_wan_yuan) AS output_wan_yuan,
        avg(p.capacity_pct) AS capacity_pct,
        avg(p.on_duty) AS on_duty
    FROM stg_production AS p
    JOIN stg_enterprises AS e ON e.credit_code = p.credit_code
    JOIN first_emergency AS f ON f.county_code = e.county_code
    WHERE p.report_date < CAST(f.emergency_since AS DATE)
    GROUP BY p.credit_code
),
first_days AS (
    SELECT
        credit_code,
        avg(output_wan_yuan) AS output_wan_yuan,
        avg(capacity_pct) AS capacity_pct,
        avg(on_duty) AS on_duty
    FROM stg_production
    WHERE report_date BETWEEN CAST(start_on AS DATE) AND CAST(start_on AS DATE) + 2
      AND report_date <= CAST(CAST(as_of AS TIMESTAMP) AS DATE)
    GROUP BY credit_code
)
SELECT
    d.day, w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name,
    w.sector, w.headcount,
    p.status, p.output_wan_yuan, p.capacity_pct, p.on_duty,
    f.emergency_since,
    CASE WHEN b.credit_code IS NOT NULL THEN '应急前'
         WHEN a.credit_code IS NOT NULL THEN '区间前3天' END AS baseline_basis,
    CASE WHEN b.credit_code IS NOT NULL THEN b.output_wan_yuan ELSE a.output_wan_yuan END AS baseline_output_wan_yuan,
    CASE WHEN b.credit_code IS NOT NULL THEN b.capacity_pct ELSE a.capacity_pct END AS baseline_capacity_pct,
    CASE WHEN b.credit_code IS NOT NULL THEN b.on_duty ELSE a.on_duty END AS baseline_on_duty
FROM days AS d
JOIN stg_enterprises AS w
  ON w.listed_at <= CAST(d.day AS TIMESTAMP)
 AND (w.removed_at IS NULL OR w.removed_at > CAST(d.day AS TIMESTAMP))
LEFT JOIN stg_production AS p ON p.credit_code = w.credit_code AND p.report_date = d.day
LEFT JOIN first_emergency AS f ON f.county_code = w.county_code
LEFT JOIN pre_emergency AS b ON b.credit_code = w.credit_code
LEFT JOIN first_days AS a ON a.credit_code = w.credit_code;
