-- one row per enterprise on the whitelist at as_of; key: credit_code
-- R3 场所码全覆盖: places listed, places with a code, coverage = coded / listed. An 工业生产 or
-- 重点项目 enterprise has a gap, whatever its ratio, when it lacks a coded 出入口, a coded 生产区
-- or 车间, or a coded 生活区.
CREATE OR REPLACE MACRO place_coverage(as_of) AS TABLE
WITH per_enterprise AS (
    SELECT
        w.credit_code,
        count(p.place_name) AS count_places,
        count(p.place_code) AS count_coded,
        coalesce(bool_or(p.kind = '出入口' AND p.has_code), false) AS has_entrance_code,
        coalesce(bool_or(p.kind IN ('生产区', '车间') AND p.has_code), false) AS has_production_code,
        coalesce(bool_or(p.kind = '生活区' AND p.has_code), false) AS has_living_code
    FROM whitelist(as_of) AS w
    LEFT JOIN stg_places AS p ON p.credit_code = w.credit_code
    GROUP BY w.credit_code
)
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    c.count_places,
    c.count_coded,
    c.count_places - c.count_coded AS count_uncoded,
    c.count_coded / nullif(c.count_places, 0) AS coverage_rate,
    c.has_entrance_code,
    c.has_production_code,
    c.has_living_code,
    w.sector IN ('工业生产', '重点项目') AS is_zone_rule_applicable,
    w.sector IN ('工业生产', '重点项目')
        AND NOT (c.has_entrance_code AND c.has_production_code AND c.has_living_code) AS has_gap,
    CASE WHEN w.sector IN ('工业生产', '重点项目') THEN concat_ws('、',
        CASE WHEN NOT c.has_entrance_code THEN '缺出入口码' END,
        CASE WHEN NOT c.has_production_code THEN '缺生产区/车间码' END,
        CASE WHEN NOT c.has_living_code THEN '缺生活区码' END)
    END AS gap_detail
FROM whitelist(as_of) AS w
JOIN per_enterprise AS c ON c.credit_code = w.credit_code;
