-- one row per whitelisted enterprise per production-report day in the alert_lookback_days days
-- ending on as_of's date; key: credit_code, report_date
-- 应扫尽扫: distinct roster people who scanned one of the enterprise's codes that day (scans after
-- as_of unseen) / 在岗人数 from that day's report (NULL when not reported or zero).
CREATE OR REPLACE MACRO scan_compliance(as_of) AS TABLE
WITH days AS (
    SELECT p.credit_code, p.report_date, p.status, p.on_duty
    FROM stg_production AS p
    CROSS JOIN stg_settings AS st
    WHERE p.report_date <= CAST(CAST(as_of AS TIMESTAMP) AS DATE)
      AND p.report_date > CAST(CAST(as_of AS TIMESTAMP) AS DATE) - st.alert_lookback_days
),
scanned AS (
    SELECT
        pl.credit_code,
        CAST(s.scanned_at AS DATE) AS scan_date,
        count(DISTINCT s.person_key) AS count_staff_scanned
    FROM stg_scans AS s
    JOIN stg_places AS pl ON pl.place_code = s.place_code
    JOIN stg_employees AS e ON e.credit_code = pl.credit_code AND e.person_key = s.person_key
    CROSS JOIN stg_settings AS st
    WHERE s.scanned_at <= CAST(as_of AS TIMESTAMP)
      AND s.scanned_at >= CAST(CAST(CAST(as_of AS TIMESTAMP) AS DATE) - (st.alert_lookback_days - 1) AS TIMESTAMP)
    GROUP BY pl.credit_code, CAST(s.scanned_at AS DATE)
)
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    d.report_date, d.status AS production_status, d.on_duty,
    coalesce(sc.count_staff_scanned, 0) AS count_staff_scanned,
    coalesce(sc.count_staff_scanned, 0) / nullif(d.on_duty, 0) AS scan_rate
FROM days AS d
JOIN whitelist(as_of) AS w ON w.credit_code = d.credit_code
LEFT JOIN scanned AS sc ON sc.credit_code = d.credit_code AND sc.scan_date = d.report_date;
