-- one row per positive single-tube sample of a roster person of a whitelisted enterprise,
-- sampled in (as_of - alert_lookback_days, as_of]; key: credit_code, person_key, sample_id
-- A positive counts from its 采样时间 (and still counts as a test in employee_status).
CREATE OR REPLACE MACRO positive_cases(as_of) AS TABLE
SELECT
    w.credit_code, e.person_key, e.id_masked, e.person_name, e.job_type,
    w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    t.sample_id, t.sampled_at, t.resulted_at, t.site
FROM stg_flagged_tests AS t
JOIN stg_flagged_staff AS e ON e.person_key = t.person_key
JOIN whitelist(as_of) AS w ON w.credit_code = e.credit_code
CROSS JOIN stg_settings AS st
WHERE t.tube = '单管'
  AND t.result = '阳性'
  AND t.sampled_at <= CAST(as_of AS TIMESTAMP)
  AND t.sampled_at > CAST(as_of AS TIMESTAMP) - to_days(st.alert_lookback_days);
