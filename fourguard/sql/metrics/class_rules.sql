-- one row per staff class (stg_staff_classes) of an enterprise on the whitelist at as_of; key: class_id
-- R1/R2: the required interval is the strictest rule that applies at as_of (required_interval_hours),
-- hours from cfg_intervals. Every rule is a property of the enterprise or of
-- the job kind, so one interval holds for every roster entry of a class.
-- On equal hours the rule named is, in order: 应急, 闭环, 流动岗位, 常态.
CREATE OR REPLACE MACRO class_rules(as_of) AS TABLE
WITH classes AS (
    SELECT
        c.class_id, c.credit_code, c.is_mobile, c.count_employees,
        s.enterprise_name, s.county_code, s.county_name, s.city_code, s.city_name, s.sector,
        s.headcount, s.county_state, s.is_emergency, s.is_closed_loop, s.production_status,
        required_interval_hours(st, c.is_mobile, s.is_emergency, s.is_closed_loop) AS interval_hours,
        st.emergency_interval_hours, st.closed_loop_interval_hours, st.mobile_interval_hours
    FROM stg_staff_classes AS c
    JOIN enterprise_status(as_of) AS s ON s.credit_code = c.credit_code
    CROSS JOIN stg_settings AS st
),
ruled AS (
    SELECT
        *,
        CASE
            WHEN is_emergency AND emergency_interval_hours = interval_hours THEN 'emergency'
            WHEN is_closed_loop AND closed_loop_interval_hours = interval_hours THEN 'closed_loop'
            WHEN is_mobile AND mobile_interval_hours = interval_hours THEN 'mobile'
            ELSE 'normal'
        END AS interval_rule_code
    FROM classes
)
SELECT
    class_id, credit_code, is_mobile, count_employees,
    enterprise_name, county_code, county_name, city_code, city_name, sector,
    headcount, county_state, is_emergency, is_closed_loop, production_status,
    interval_hours,
    interval_rule_code,
    CASE interval_rule_code
        WHEN 'emergency' THEN '县区应急状态：'
        WHEN 'closed_loop' THEN '闭环生产：'
        WHEN 'mobile' THEN '流动接触岗位：'
        ELSE '常态：'
    END || CASE
        WHEN interval_rule_code IN ('emergency', 'closed_loop') AND interval_hours = 24 THEN '每日一检'
        WHEN interval_hours = floor(interval_hours)
            THEN CAST(CAST(interval_hours AS BIGINT) AS VARCHAR) || '小时一检'
        ELSE CAST(interval_hours AS VARCHAR) || '小时一检'
    END AS interval_rule,
    CAST(as_of AS TIMESTAMP) - hours_to_interval(interval_hours) AS within_from
FROM ruled;
