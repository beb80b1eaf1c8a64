-- one row per place code scanned in (as_of - 24 h, as_of]; key: place_code
-- R3's active codes from the place_days rollup: the window meets two days (as_of's and the one
-- before), and a day's scans reach into it exactly when its first scan is at or before as_of and its
-- last after as_of - 24 h. place_activity counts the same window from every scan.
CREATE OR REPLACE MACRO active_place_codes(as_of) AS TABLE
SELECT DISTINCT place_code
FROM stg_place_days
WHERE day BETWEEN CAST(CAST(as_of AS TIMESTAMP) - INTERVAL 24 HOUR AS DATE) AND CAST(CAST(as_of AS TIMESTAMP) AS DATE)
  AND first_scanned_at <= CAST(as_of AS TIMESTAMP)
  AND last_scanned_at > CAST(as_of AS TIMESTAMP) - INTERVAL 24 HOUR;
