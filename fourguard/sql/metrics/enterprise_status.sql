-- one row per enterprise on the whitelist at as_of; key: credit_code
-- Adds the county's state at as_of and the latest production report dated on or before as_of's
-- date (the one report whose span, stg_report_spans, holds that date); the enterprise is in closed
-- loop when that report says 闭环生产.
CREATE OR REPLACE MACRO enterprise_status(as_of) AS TABLE
WITH latest_report AS (
    SELECT credit_code, report_date AS last_report_date, status AS production_status, on_duty
    FROM stg_report_spans
    WHERE report_date <= CAST(CAST(as_of AS TIMESTAMP) AS DATE)
      AND (next_report_date IS NULL OR next_report_date > CAST(CAST(as_of AS TIMESTAMP) AS DATE))
)
SELECT
    w.*,
    coalesce(cs.county_state, '常态') AS county_state,
    coalesce(cs.is_emergency, false) AS is_emergency,
    cs.county_state_since,
    r.last_report_date,
    r.production_status,
    r.on_duty,
    coalesce(r.production_status = '闭环生产', false) AS is_closed_loop
FROM whitelist(as_of) AS w
LEFT JOIN county_states_at(as_of) AS cs ON cs.county_code = w.county_code
LEFT JOIN latest_report AS r ON r.credit_code = w.credit_code;
