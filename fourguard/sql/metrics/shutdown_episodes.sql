-- one row per shutdown episode of a whitelisted enterprise, from reports dated <= as_of's date;
-- key: credit_code, started_on
-- R9: an episode is a maximal run of consecutive reports saying 停产 (a day without a report does
-- not break it, any other status does). Length = calendar days from the first 停产 day through
-- the last 停产 report, or through as_of's date while the latest report is still 停产 (ongoing).
-- An alert is a breach (length > shutdown_limit_days) that is ongoing or whose last 停产 day is on
-- or after the date of as_of - alert_lookback_days.
CREATE OR REPLACE MACRO shutdown_episodes(as_of) AS TABLE
WITH reports AS (
    -- The scope columns ride along as partition and group keys (one value per enterprise), so a
    -- county/city/sector filter on the result reaches the reports instead of the whole province.
    SELECT
        p.credit_code, w.county_code, w.city_code, w.sector, p.report_date, p.is_shut_down,
        -- reports in one run of 停产 share the number of other reports before them
        count(*) FILTER (WHERE NOT p.is_shut_down) OVER history AS run_id,
        max(p.report_date) OVER (history ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            AS latest_report_date
    FROM stg_production AS p
    -- only the enterprises with a 停产 report by then have an episode: the window reads their reports
    JOIN (SELECT DISTINCT credit_code FROM stg_production
          WHERE is_shut_down AND report_date <= CAST(CAST(as_of AS TIMESTAMP) AS DATE)) AS shut
        ON shut.credit_code = p.credit_code
    JOIN whitelist(as_of) AS w ON w.credit_code = p.credit_code
    WHERE p.report_date <= CAST(CAST(as_of AS TIMESTAMP) AS DATE)
    WINDOW history AS (PARTITION BY p.credit_code, w.county_code, w.city_code, w.sector ORDER BY p.report_date)
),
episodes AS (
    SELECT
        credit_code, county_code, city_code, sector,
        min(report_date) AS started_on,
        max(report_date) AS last_shutdown_on,
        count(*) AS count_reports,
        any_value(latest_report_date) AS latest_report_date
    FROM reports
    WHERE is_shut_down
    GROUP BY credit_code, county_code, city_code, sector, run_id
),
measured AS (
    SELECT
        *,
        last_shutdown_on = latest_report_date AS is_ongoing,
        CASE WHEN last_shutdown_on = latest_report_date
             THEN CAST(CAST(as_of AS TIMESTAMP) AS DATE) ELSE last_shutdown_on END AS through_on
    FROM episodes
)
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    m.started_on, m.last_shutdown_on, m.through_on, m.is_ongoing, m.count_reports,
    date_diff('day', m.started_on, m.through_on) + 1 AS length_days,
    date_diff('day', m.started_on, m.through_on) + 1 > st.shutdown_limit_days AS is_breach,
    date_diff('day', m.started_on, m.through_on) + 1 > st.shutdown_limit_days
        AND (m.is_ongoing
             OR m.last_shutdown_on >= CAST(CAST(as_of AS TIMESTAMP) - to_days(st.alert_lookback_days) AS DATE))
        AS is_alert
FROM measured AS m
JOIN whitelist(as_of) AS w USING (credit_code, county_code, city_code, sector)
CROSS JOIN stg_settings AS st;
