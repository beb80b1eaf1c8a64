-- one row per 红码/黄码 scan; key: place_code, person_key, scanned_at
-- The ingest-maintained rollup raw.flagged_scans (fourguard/rollups.py): stg_scans' rows with
-- is_red_yellow, which is every row R4's alerts read.
CREATE OR REPLACE VIEW stg_flagged_scans AS
SELECT place_code, person_key, id_masked, scanned_at, health_code
FROM raw.flagged_scans;
