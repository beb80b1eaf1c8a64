-- one row per county that has a state change at or before as_of; key: county_code
-- The state at t is the latest change with since <= t; counties without one are 常态 (callers coalesce).
CREATE OR REPLACE MACRO county_states_at(as_of) AS TABLE
SELECT
    county_code,
    arg_max(state, state_seq) AS county_state,
    arg_max(is_emergency, state_seq) AS is_emergency,
    arg_max(since, state_seq) AS county_state_since,
    arg_max(origin, state_seq) AS county_state_origin
FROM stg_county_states
WHERE since <= CAST(as_of AS TIMESTAMP)
GROUP BY county_code;
