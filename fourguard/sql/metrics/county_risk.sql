-- one row per county with enterprises on the whitelist at as_of (of sector_filter; all when NULL);
-- key: county_code
-- The county facts of the risk score (fourguard/risk.py, docs/risk.md) that are not sums over
-- enterprise_risk: the county's state at as_of (R14), and the people counted once however many
-- rosters they are on, as queries.metrics() counts them: positive people (R15) and over-limit
-- rechecks (R8). risk.py adds the enterprise sums (staff, overdue, clusters, scans, issues, shutdowns).
CREATE OR REPLACE MACRO county_risk(as_of, sector_filter) AS TABLE
WITH ents AS (
    SELECT county_code, any_value(county_name) AS county_name, any_value(city_code) AS city_code,
           any_value(city_name) AS city_name
    FROM whitelist(as_of)
    WHERE sector_filter IS NULL OR sector = sector_filter
    GROUP BY county_code
),
positives AS (
    SELECT county_code, count(DISTINCT person_key) AS count_positives
    FROM positive_cases(as_of)
    WHERE sector_filter IS NULL OR sector = sector_filter
    GROUP BY county_code
),
rechecks AS (
    SELECT county_code, count(DISTINCT (person_key, pool_sample_id)) AS count_recheck_over_limit
    FROM recheck_obligations(as_of)
    WHERE is_over_limit AND (sector_filter IS NULL OR sector = sector_filter)
    GROUP BY county_code
)
SELECT
    e.county_code, e.county_name, e.city_code, e.city_name,
    coalesce(cs.county_state, '常态') AS county_state,
    coalesce(cs.is_emergency, false) AS is_emergency,
    cs.county_state_since,
    coalesce(p.count_positives, 0) AS count_positives,
    coalesce(r.count_recheck_over_limit, 0) AS count_recheck_over_limit
FROM ents AS e
LEFT JOIN county_states_at(as_of) AS cs ON cs.county_code = e.county_code
LEFT JOIN positives AS p ON p.county_code = e.county_code
LEFT JOIN rechecks AS r ON r.county_code = e.county_code;
