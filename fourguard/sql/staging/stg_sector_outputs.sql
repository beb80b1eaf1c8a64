-- one row per county per sector: the whole sector's output value (R6 denominator); key: county_code, sector
CREATE OR REPLACE VIEW stg_sector_outputs AS
SELECT county_code, sector, sector_output_wan_yuan
FROM raw.sector_outputs;
