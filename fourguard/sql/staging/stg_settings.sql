-- one row: the rule settings (cfg_settings, cfg_intervals) as columns, for cross joins
-- A table, computed once per connection (the cfg_ tables are written only when a connection opens):
-- as a view its ten scalar subqueries cost about 40 ms of planning in every query that reads it.
CREATE OR REPLACE TABLE stg_settings AS
SELECT
    (SELECT max(hours) FROM cfg_intervals WHERE rule = 'normal') AS normal_interval_hours,
    (SELECT max(hours) FROM cfg_intervals WHERE rule = 'mobile') AS mobile_interval_hours,
    (SELECT max(hours) FROM cfg_intervals WHERE rule = 'emergency') AS emergency_interval_hours,
    (SELECT max(hours) FROM cfg_intervals WHERE rule = 'closed_loop') AS closed_loop_interval_hours,
    (SELECT max(value) FROM cfg_settings WHERE key = 'recheck_limit_hours') AS recheck_limit_hours,
    (SELECT CAST(max(value) AS INTEGER) FROM cfg_settings WHERE key = 'shutdown_limit_days') AS shutdown_limit_days,
    (SELECT max(value) FROM cfg_settings WHERE key = 'output_coverage_target') AS output_coverage_target,
    (SELECT max(value) FROM cfg_settings WHERE key = 'hut_headcount') AS hut_headcount,
    (SELECT max(value) FROM cfg_settings WHERE key = 'cluster_window_hours') AS cluster_window_hours,
    (SELECT CAST(max(value) AS INTEGER) FROM cfg_settings WHERE key = 'alert_lookback_days') AS alert_lookback_days;
