-- one row per place code per day it was scanned; key: place_code, day
-- The ingest-maintained rollup raw.place_days (fourguard/rollups.py): the day's first and last scan.
CREATE OR REPLACE VIEW stg_place_days AS
SELECT place_code, day, first_scanned_at, last_scanned_at
FROM raw.place_days;
