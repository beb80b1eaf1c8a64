-- one row per county per sector having whitelisted enterprises at as_of or a loaded sector total;
-- key: county_code, sector
-- R6: output of whitelisted enterprises / the sector's whole output in the county (NULL when no
-- total is loaded: a denominator is never invented). Scopes sum both sides over counties that
-- have a total; listed output in counties without one is reported apart.
CREATE OR REPLACE MACRO output_coverage(as_of) AS TABLE
WITH listed AS (
    SELECT county_code, sector,
           count(*) AS count_enterprises,
           coalesce(sum(annual_output_wan_yuan), 0) AS listed_output_wan_yuan
    FROM whitelist(as_of)
    GROUP BY county_code, sector
),
totals AS (
    SELECT county_code, sector, sum(sector_output_wan_yuan) AS sector_output_wan_yuan
    FROM stg_sector_outputs
    GROUP BY county_code, sector
),
joined AS (
    SELECT
        coalesce(l.county_code, t.county_code) AS county_code,
        coalesce(l.sector, t.sector) AS sector,
        coalesce(l.count_enterprises, 0) AS count_enterprises,
        coalesce(l.listed_output_wan_yuan, 0) AS listed_output_wan_yuan,
        t.sector_output_wan_yuan
    FROM listed AS l
    FULL JOIN totals AS t ON t.county_code = l.county_code AND t.sector = l.sector
)
SELECT
    j.county_code,
    r.name AS county_name,
    coalesce(nullif(r.city_code, ''), left(j.county_code, 4) || '00') AS city_code,
    j.sector,
    j.count_enterprises,
    j.listed_output_wan_yuan,
    j.sector_output_wan_yuan,
    j.listed_output_wan_yuan / nullif(j.sector_output_wan_yuan, 0) AS output_share,
    j.listed_output_wan_yuan / nullif(j.sector_output_wan_yuan, 0) < st.output_coverage_target AS is_below_target
FROM joined AS j
LEFT JOIN regions AS r ON r.code = j.county_code AND r.level = 'county'
CROSS JOIN stg_settings AS st;
