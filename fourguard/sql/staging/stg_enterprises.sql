-- one row per enterprise ever listed; key: credit_code
-- The registry with its county and city names from `regions`; listed_at/removed_at are the
-- dates as midnight timestamps, so "on the whitelist at t" is listed_at <= t < removed_at.
CREATE OR REPLACE VIEW stg_enterprises AS
SELECT
    e.credit_code,
    e.name AS enterprise_name,
    e.county_code,
    r.name AS county_name,
    -- A county missing from the region data still sits in its GB/T 2260 prefecture.
    coalesce(nullif(r.city_code, ''), left(e.county_code, 4) || '00') AS city_code,
    coalesce(nullif(r.city_name, ''), c.name) AS city_name,
    e.sector,
    e.headcount,
    e.annual_output_wan_yuan,
    e.lng,
    e.lat,
    e.cadre,
    e.listed_on,
    e.removed_on,
    CAST(e.listed_on AS TIMESTAMP) AS listed_at,
    CAST(e.removed_on AS TIMESTAMP) AS removed_at,
    coalesce(e.has_sampling_hut, false) AS has_sampling_hut,
    coalesce(e.closed_loop_capable, false) AS is_closed_loop_capable
FROM raw.enterprises AS e
LEFT JOIN regions AS r ON r.code = e.county_code AND r.level = 'county'
LEFT JOIN regions AS c ON c.code = left(e.county_code, 4) || '00' AND c.level = 'city';
