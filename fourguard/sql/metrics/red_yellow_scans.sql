-- one row per 红码/黄码 scan in (as_of - 24 h, as_of] at a coded place of a whitelisted
-- enterprise; key: place_code, person_key, scanned_at
-- R4: red or yellow code holders must not enter; is_employee says whether they are on its roster.
CREATE OR REPLACE MACRO red_yellow_scans(as_of) AS TABLE
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    p.place_name, p.place_code, p.kind,
    s.person_key, s.id_masked, e.person_name,
    e.person_key IS NOT NULL AS is_employee,
    s.scanned_at, s.health_code
FROM stg_flagged_scans AS s
JOIN stg_places AS p ON p.place_code = s.place_code
JOIN whitelist(as_of) AS w ON w.credit_code = p.credit_code
LEFT JOIN stg_flagged_staff AS e ON e.credit_code = p.credit_code AND e.person_key = s.person_key
WHERE s.scanned_at > CAST(as_of AS TIMESTAMP) - INTERVAL 24 HOUR
  AND s.scanned_at <= CAST(as_of AS TIMESTAMP);
