-- one row per day in [start_on, end_on] up to as_of's date; key: day
-- When a day is judged in the daily trend: a day before as_of's date at its end, 24:00 (the last
-- microsecond of the day, so everything sampled that day counts, as in a 截至24时 briefing);
-- as_of's own date at as_of. Later days are left out.
CREATE OR REPLACE MACRO check_times(start_on, end_on, as_of) AS TABLE
SELECT
    CAST(d AS DATE) AS day,
    CASE WHEN CAST(d AS DATE) < CAST(CAST(as_of AS TIMESTAMP) AS DATE)
         THEN CAST(d AS TIMESTAMP) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND
         ELSE CAST(as_of AS TIMESTAMP) END AS check_at
FROM range(CAST(CAST(start_on AS DATE) AS TIMESTAMP),
           least(CAST(CAST(end_on AS DATE) AS TIMESTAMP),
                 CAST(CAST(CAST(as_of AS TIMESTAMP) AS DATE) AS TIMESTAMP)) + INTERVAL 1 DAY,
           INTERVAL 1 DAY) AS r(d);
