-- zero or one row: the days stg_testing_days holds, when it was computed with this reader's R1 intervals
CREATE OR REPLACE VIEW stg_testing_days_range AS
SELECT r.first_day, r.last_day
FROM raw.testing_days_range AS r
CROSS JOIN stg_settings AS s
WHERE r.normal_hours IS NOT DISTINCT FROM s.normal_interval_hours
  AND r.mobile_hours IS NOT DISTINCT FROM s.mobile_interval_hours
  AND r.emergency_hours IS NOT DISTINCT FROM s.emergency_interval_hours
  AND r.closed_loop_hours IS NOT DISTINCT FROM s.closed_loop_interval_hours;
