-- one row per roster entry of an enterprise on the whitelist at as_of; key: credit_code, person_key
-- R1/R2: the required interval is the strictest rule that applies at as_of (常态 always; 流动接触岗位;
-- 县区应急状态; 闭环生产), hours from cfg_intervals. Within interval when the last sample at or
-- before as_of has as_of - interval <= sampled_at (both ends inclusive); overdue otherwise.
-- On equal hours the rule named is, in order: 应急, 闭环, 流动岗位, 常态.
CREATE OR REPLACE MACRO employee_status(as_of) AS TABLE
WITH last_test AS (
    -- the sample in force at as_of, from the ingest-maintained spans (not an aggregate over all tests)
    SELECT
        person_key,
        sampled_at AS last_sampled_at,
        result AS last_result,
        tube AS last_tube
    FROM stg_test_spans
    WHERE sampled_at <= CAST(as_of AS TIMESTAMP)
      AND (next_sampled_at IS NULL OR next_sampled_at > CAST(as_of AS TIMESTAMP))
),
staff AS (
    SELECT
        e.credit_code, e.person_key, e.id_masked, e.person_name, e.job_type, e.is_mobile_job,
        s.enterprise_name, s.county_code, s.county_name, s.city_code, s.city_name, s.sector,
        s.county_state, s.is_emergency, s.is_closed_loop,
        least(
            st.normal_interval_hours,
            CASE WHEN e.is_mobile_job THEN st.mobile_interval_hours END,
            CASE WHEN s.is_emergency THEN st.emergency_interval_hours END,
            CASE WHEN s.is_closed_loop THEN st.closed_loop_interval_hours END
        ) AS interval_hours,
        st.emergency_interval_hours, st.closed_loop_interval_hours, st.mobile_interval_hours
    FROM stg_employees AS e
    JOIN enterprise_status(as_of) AS s ON s.credit_code = e.credit_code
    CROSS JOIN stg_settings AS st
),
ruled AS (
    SELECT
        *,
        CASE
            WHEN is_emergency AND emergency_interval_hours = interval_hours THEN 'emergency'
            WHEN is_closed_loop AND closed_loop_interval_hours = interval_hours THEN 'closed_loop'
            WHEN is_mobile_job AND mobile_interval_hours = interval_hours THEN 'mobile'
            ELSE 'normal'
        END AS interval_rule_code
    FROM staff
)
SELECT
    r.credit_code, r.person_key, r.id_masked, r.person_name, r.job_type,
    r.enterprise_name, r.county_code, r.county_name, r.city_code, r.city_name, r.sector,
    r.county_state, r.is_emergency, r.is_closed_loop,
    r.interval_hours,
    r.interval_rule_code,
    CASE r.interval_rule_code
        WHEN 'emergency' THEN '县区应急状态：'
        WHEN 'closed_loop' THEN '闭环生产：'
        WHEN 'mobile' THEN '流动接触岗位：'
        ELSE '常态：'
    END || CASE
        WHEN r.interval_rule_code IN ('emergency', 'closed_loop') AND r.interval_hours = 24 THEN '每日一检'
        WHEN r.interval_hours = floor(r.interval_hours)
            THEN CAST(CAST(r.interval_hours AS BIGINT) AS VARCHAR) || '小时一检'
        ELSE CAST(r.interval_hours AS VARCHAR) || '小时一检'
    END AS interval_rule,
    t.last_sampled_at,
    t.last_result,
    t.last_tube,
    date_diff('microsecond', t.last_sampled_at, CAST(as_of AS TIMESTAMP)) / 3600000000.0 AS hours_since_sample,
    t.last_sampled_at + hours_to_interval(r.interval_hours) AS due_at,
    t.last_sampled_at IS NULL AS is_never_tested,
    coalesce(t.last_sampled_at >= CAST(as_of AS TIMESTAMP) - hours_to_interval(r.interval_hours), false)
        AS is_within_interval,
    NOT coalesce(t.last_sampled_at >= CAST(as_of AS TIMESTAMP) - hours_to_interval(r.interval_hours), false)
        AS is_overdue
FROM ruled AS r
LEFT JOIN last_test AS t ON t.person_key = r.person_key;
