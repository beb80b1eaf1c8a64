-- one row per 电子哨 alert at as_of over the whitelist (R5 and the rules it combines); key: kind, ref
-- Each alert comes from its rule's own model, so it counts exactly what the metrics count:
--   聚集性疫情 (R15, one per enterprise)    enterprise_positives.is_cluster   at its latest positive
--   阳性 (R15, one per positive sample)     positive_cases                    at 采样时间
--   复核超时 (R8, one per pool sample)      recheck_obligations.is_over_limit at the recheck due time
--   红黄码进入 (R4, one per scan)           red_yellow_scans                  at 扫码时间
--   超时未检 (R2, one per enterprise)       enterprise_testing.count_overdue  when its latest one fell due
--   停产超时 (R9, one per episode)          shutdown_episodes.is_alert        the day the limit was passed
--   诉求逾期 (R11, one per issue)           issue_status.is_overdue           at the deadline
-- severity: 1 = a cluster (the top alert); 2 = a positive, a red code, a missed recheck; 3 = the rest.
-- detail is what a reader sees: ID numbers appear masked only (id_masked).
CREATE OR REPLACE MACRO sentinel_alerts(as_of) AS TABLE
WITH overdue AS (
    SELECT credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
           count_overdue, count_never_tested, max_hours_since_sample, last_due_at
    FROM enterprise_testing(as_of)
    WHERE count_overdue > 0
)
SELECT last_positive_at AS alert_at, 1 AS severity, '聚集性疫情' AS kind, 'R15' AS rule, credit_code AS ref,
       credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
       count_positive_people || ' 名员工单管阳性，相隔最近的两例间隔 ' || round(min_gap_hours, 1)
           || ' 小时，最新一例 ' || strftime(last_positive_at, '%m-%d %H:%M') AS detail
FROM enterprise_positives(as_of)
WHERE is_cluster
UNION ALL
SELECT sampled_at, 2, '阳性', 'R15', sample_id,
       credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
       id_masked || ' ' || person_name || ' 单管阳性（' || strftime(sampled_at, '%m-%d %H:%M') || ' 采样）'
FROM positive_cases(as_of)
UNION ALL
SELECT recheck_due_at, 2, '复核超时', 'R8', pool_sample_id || '/' || id_masked,
       credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
       id_masked || ' ' || person_name || ' 混管' || pool_result || '（' || strftime(pool_result_at, '%m-%d %H:%M')
           || ' 出结果）后 ' || coalesce(strftime(recheck_sampled_at, '%m-%d %H:%M') || ' 才单采复核', '仍未单采复核')
FROM recheck_obligations(as_of)
WHERE is_over_limit
UNION ALL
SELECT scanned_at, CASE WHEN health_code = '红码' THEN 2 ELSE 3 END, '红黄码进入', 'R4',
       place_code || '/' || id_masked || '/' || strftime(scanned_at, '%Y%m%d%H%M%S'),
       credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
       health_code || ' ' || id_masked || ' ' || coalesce(person_name, '') || CASE WHEN is_employee THEN '（本企业员工）'
           ELSE '（非本企业员工）' END || ' 扫码进入 ' || place_name
FROM red_yellow_scans(as_of)
UNION ALL
SELECT coalesce(last_due_at, CAST(as_of AS TIMESTAMP)), 3, '超时未检', 'R2', credit_code,
       credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
       count_overdue || ' 人超过检测间隔未采样' || CASE WHEN count_never_tested > 0
           THEN '（其中 ' || count_never_tested || ' 人从未检测）' ELSE '' END
           || coalesce('，最长 ' || CAST(round(max_hours_since_sample) AS BIGINT) || ' 小时', '')
FROM overdue
UNION ALL
SELECT CAST(e.started_on + st.shutdown_limit_days AS TIMESTAMP), 3, '停产超时', 'R9',
       e.credit_code || '/' || CAST(e.started_on AS VARCHAR),
       e.credit_code, e.enterprise_name, e.county_code, e.county_name, e.city_code, e.city_name, e.sector,
       '自 ' || strftime(e.started_on, '%m-%d') || ' 起停产 ' || e.length_days || ' 天'
           || CASE WHEN e.is_ongoing THEN '（仍在停产）' ELSE '' END || '，超过 ' || st.shutdown_limit_days || ' 天'
FROM shutdown_episodes(as_of) AS e
CROSS JOIN stg_settings AS st
WHERE e.is_alert
UNION ALL
SELECT deadline_at, 3, '诉求逾期', 'R11', issue_id,
       credit_code, enterprise_name, county_code, county_name, city_code, city_name, sector,
       issue_id || ' ' || category || '：' || detail || '（' || state || '，已超期 '
           || CAST(round(overdue_hours) AS BIGINT) || ' 小时）'
FROM issue_status(as_of)
WHERE is_overdue;
