-- one row per listed place of an enterprise; key: credit_code, place_name
-- place_code is NULL while the code is not issued yet (providers send an empty cell).
CREATE OR REPLACE VIEW stg_places AS
SELECT
    credit_code,
    place_name,
    nullif(trim(place_code), '') AS place_code,
    kind,
    nullif(trim(place_code), '') IS NOT NULL AS has_code
FROM raw.places;
