-- one row per enterprise on the whitelist at as_of; key: credit_code
-- The facts behind an enterprise's risk score (fourguard/risk.py, docs/risk.md), each taken from its
-- rule's own model so the numbers agree with queries.metrics(): R2 enterprise_testing, R15
-- enterprise_positives, R4 red_yellow_scans, R14 county state, R8 recheck_obligations, R11
-- issue_status, R9 shutdown_episodes. Every part joins on the scope columns as well as credit_code, so
-- a county, city or sector filter on the result reaches each part instead of computing the province and discarding it.
CREATE OR REPLACE MACRO enterprise_risk(as_of) AS TABLE
WITH positives AS (
    SELECT credit_code, county_code, city_code, sector, count_positive_people, is_cluster
    FROM enterprise_positives(as_of)
),
red_yellow AS (
    SELECT credit_code, county_code, city_code, sector, count(*) AS count_red_yellow_24h
    FROM red_yellow_scans(as_of)
    GROUP BY credit_code, county_code, city_code, sector
),
rechecks AS (
    SELECT credit_code, county_code, city_code, sector, count(DISTINCT (person_key, pool_sample_id)) AS count_recheck_over_limit
    FROM recheck_obligations(as_of)
    WHERE is_over_limit
    GROUP BY credit_code, county_code, city_code, sector
),
issues AS (
    SELECT credit_code, county_code, city_code, sector, count(*) AS count_issues_overdue
    FROM issue_status(as_of)
    WHERE is_overdue
    GROUP BY credit_code, county_code, city_code, sector
),
shutdowns AS (
    SELECT credit_code, county_code, city_code, sector, max(length_days) AS max_shutdown_days
    FROM shutdown_episodes(as_of)
    WHERE is_alert
    GROUP BY credit_code, county_code, city_code, sector
)
SELECT
    t.credit_code, t.enterprise_name, t.county_code, t.county_name, t.city_code, t.city_name,
    t.sector, t.headcount, e.lng, e.lat,
    t.county_state, t.is_emergency, t.is_closed_loop, t.production_status,
    t.count_employees, t.count_within_interval, t.count_overdue, t.coverage_rate,
    coalesce(p.count_positive_people, 0) AS count_positives,
    CAST(coalesce(p.is_cluster, false) AS INTEGER) AS count_clusters,
    coalesce(r.count_red_yellow_24h, 0) AS count_red_yellow_24h,
    coalesce(rc.count_recheck_over_limit, 0) AS count_recheck_over_limit,
    coalesce(i.count_issues_overdue, 0) AS count_issues_overdue,
    CAST(s.max_shutdown_days IS NOT NULL AS INTEGER) AS count_shutdown_alerts,
    s.max_shutdown_days
FROM enterprise_testing(as_of) AS t
JOIN stg_enterprises AS e ON e.credit_code = t.credit_code
LEFT JOIN positives AS p ON p.credit_code = t.credit_code AND p.county_code = t.county_code
    AND p.city_code = t.city_code AND p.sector = t.sector
LEFT JOIN red_yellow AS r ON r.credit_code = t.credit_code AND r.county_code = t.county_code
    AND r.city_code = t.city_code AND r.sector = t.sector
LEFT JOIN rechecks AS rc ON rc.credit_code = t.credit_code AND rc.county_code = t.county_code
    AND rc.city_code = t.city_code AND rc.sector = t.sector
LEFT JOIN issues AS i ON i.credit_code = t.credit_code AND i.county_code = t.county_code
    AND i.city_code = t.city_code AND i.sector = t.sector
LEFT JOIN shutdowns AS s ON s.credit_code = t.credit_code AND s.county_code = t.county_code
    AND s.city_code = t.city_code AND s.sector = t.sector;
