-- one row per scan; key: place_code, person_key, scanned_at
CREATE OR REPLACE VIEW stg_scans AS
SELECT
    place_code,
    person_key,
    id_masked,
    scanned_at,
    health_code,
    health_code IN ('红码', '黄码') AS is_red_yellow
FROM raw.scans;
