-- one row per (roster entry, positive pool sample) whose pool result time lies in
-- (as_of - alert_lookback_days, as_of]; key: credit_code, person_key, pool_sample_id
-- R8: everyone in a 混管 sample that came back 阳性/待复核 needs a 单管 sample taken within
-- [result time, result time + recheck_limit_hours]; result time = 结果时间, else 采样时间.
-- Over the limit once as_of has passed the due time with no single tube taken in time;
-- until then a missing recheck is pending. Samples after as_of are not seen. Every sample read is
-- a flagged person's (stg_flagged_tests), so neither part scans every test.
CREATE OR REPLACE MACRO recheck_obligations(as_of) AS TABLE
WITH pools AS (
    SELECT
        t.person_key,
        t.sample_id AS pool_sample_id,
        t.pool_id,
        t.sampled_at AS pool_sampled_at,
        t.result AS pool_result,
        t.result_at AS pool_result_at,
        t.result_at + hours_to_interval(st.recheck_limit_hours) AS recheck_due_at
    FROM stg_flagged_tests AS t
    CROSS JOIN stg_settings AS st
    WHERE t.tube = '混管'
      AND t.result IN ('阳性', '待复核')
      AND t.result_at <= CAST(as_of AS TIMESTAMP)
      AND t.result_at > CAST(as_of AS TIMESTAMP) - to_days(st.alert_lookback_days)
),
singles AS (
    -- Only people with an obligation, sampled after the earliest possible result time.
    SELECT t.person_key, t.sampled_at, t.sample_id, t.result
    FROM stg_flagged_tests AS t
    CROSS JOIN stg_settings AS st
    WHERE t.tube = '单管'
      AND t.sampled_at <= CAST(as_of AS TIMESTAMP)
      AND t.sampled_at > CAST(as_of AS TIMESTAMP) - to_days(st.alert_lookback_days)
      AND t.person_key IN (SELECT person_key FROM pools)
),
matched AS (
    SELECT
        p.*,
        s.sample_id AS recheck_sample_id,
        s.sampled_at AS recheck_sampled_at,
        s.result AS recheck_result
    FROM pools AS p
    ASOF LEFT JOIN singles AS s
        ON s.person_key = p.person_key AND s.sampled_at >= p.pool_result_at
)
SELECT
    w.credit_code, e.person_key, e.id_masked, e.person_name,
    w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    m.pool_sample_id, m.pool_id, m.pool_sampled_at, m.pool_result, m.pool_result_at, m.recheck_due_at,
    m.recheck_sample_id, m.recheck_sampled_at, m.recheck_result,
    coalesce(m.recheck_sampled_at <= m.recheck_due_at, false) AS is_rechecked_in_time,
    NOT coalesce(m.recheck_sampled_at <= m.recheck_due_at, false)
        AND CAST(as_of AS TIMESTAMP) > m.recheck_due_at AS is_over_limit,
    CASE
        WHEN m.recheck_sampled_at <= m.recheck_due_at THEN '已按时复核'
        WHEN CAST(as_of AS TIMESTAMP) <= m.recheck_due_at THEN '待复核'
        WHEN m.recheck_sampled_at IS NOT NULL THEN '超时复核'
        ELSE '超时未复核'
    END AS recheck_state
FROM matched AS m
JOIN stg_flagged_staff AS e ON e.person_key = m.person_key
JOIN whitelist(as_of) AS w ON w.credit_code = e.credit_code;
