-- one row per county per state change, from the feed and from app switches (R14); key: county_code, state_seq
-- state_seq orders changes: by since, feed rows before app switches at the same instant,
-- app switches by switch id; the state at t is the row with the highest state_seq and since <= t.
CREATE OR REPLACE VIEW stg_county_states AS
WITH unioned AS (
    SELECT county_code, state, since, 'feed' AS origin, 0 AS origin_rank, NULL::BIGINT AS switch_id,
           NULL::VARCHAR AS actor
    FROM raw.county_states
    UNION ALL
    SELECT county_code, state, since, 'app', 1, switch_id, actor
    FROM wb_county_switches
    WHERE county_code IS NOT NULL AND state IS NOT NULL AND since IS NOT NULL
)
SELECT
    county_code,
    state,
    state = '应急' AS is_emergency,
    since,
    origin,
    switch_id,
    actor,
    row_number() OVER (PARTITION BY county_code ORDER BY since, origin_rank, switch_id) AS state_seq
FROM unioned;
