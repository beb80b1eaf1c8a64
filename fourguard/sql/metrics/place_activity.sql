-- one row per coded place of an enterprise on the whitelist at as_of; key: credit_code, place_name
-- A code is active when scanned in (as_of - 24 h, as_of]; red/yellow counts R4 alerts there.
CREATE OR REPLACE MACRO place_activity(as_of) AS TABLE
WITH recent AS (
    SELECT
        place_code,
        count(*) AS count_scans_24h,
        count(*) FILTER (WHERE is_red_yellow) AS count_red_yellow_24h,
        max(scanned_at) AS last_scanned_at
    FROM stg_scans
    WHERE scanned_at > CAST(as_of AS TIMESTAMP) - INTERVAL 24 HOUR
      AND scanned_at <= CAST(as_of AS TIMESTAMP)
    GROUP BY place_code
)
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    p.place_name, p.place_code, p.kind,
    coalesce(r.count_scans_24h, 0) AS count_scans_24h,
    coalesce(r.count_red_yellow_24h, 0) AS count_red_yellow_24h,
    r.last_scanned_at,
    r.count_scans_24h IS NOT NULL AS is_active
FROM stg_places AS p
JOIN whitelist(as_of) AS w ON w.credit_code = p.credit_code
LEFT JOIN recent AS r ON r.place_code = p.place_code
WHERE p.has_code;
