-- one row per listed place of an enterprise on the whitelist at as_of; key: credit_code, place_name
-- R3: every place listed in the registry, coded or not (has_code), with the R3 zone it counts for
-- (出入口; 生产区/车间; 生活区; other kinds count for coverage only) and whether its code was
-- scanned in (as_of - 24 h, as_of] (is_active, from active_place_codes).
CREATE OR REPLACE MACRO place_status(as_of) AS TABLE
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    p.place_name, p.place_code, p.kind, p.has_code,
    CASE WHEN p.kind = '出入口' THEN '出入口'
         WHEN p.kind IN ('生产区', '车间') THEN '生产区/车间'
         WHEN p.kind = '生活区' THEN '生活区' END AS required_zone,
    a.place_code IS NOT NULL AS is_active
FROM stg_places AS p
JOIN whitelist(as_of) AS w ON w.credit_code = p.credit_code
LEFT JOIN active_place_codes(as_of) AS a ON a.place_code = p.place_code;
