-- one row per whitelisted enterprise with a positive in the lookback window; key: credit_code
-- R15 cluster: two different people whose positive samples lie within cluster_window_hours of
-- each other. The closest such pair is always adjacent in time order, so LAG finds it.
CREATE OR REPLACE MACRO enterprise_positives(as_of) AS TABLE
WITH cases AS (
    SELECT * FROM positive_cases(as_of)
),
ordered AS (
    SELECT
        credit_code, person_key, sampled_at,
        lag(person_key) OVER w AS prev_person_key,
        lag(sampled_at) OVER w AS prev_sampled_at
    FROM cases
    WINDOW w AS (PARTITION BY credit_code ORDER BY sampled_at, person_key)
),
gaps AS (
    SELECT credit_code,
           min(date_diff('microsecond', prev_sampled_at, sampled_at)) / 3600000000.0 AS min_gap_hours
    FROM ordered
    WHERE prev_person_key <> person_key
    GROUP BY credit_code
),
per_enterprise AS (
    SELECT
        credit_code,
        any_value(enterprise_name) AS enterprise_name,
        any_value(county_code) AS county_code,
        any_value(county_name) AS county_name,
        any_value(city_code) AS city_code,
        any_value(city_name) AS city_name,
        any_value(sector) AS sector,
        count(DISTINCT person_key) AS count_positive_people,
        min(sampled_at) AS first_positive_at,
        max(sampled_at) AS last_positive_at
    FROM cases
    GROUP BY credit_code
)
SELECT
    p.*,
    g.min_gap_hours,
    coalesce(g.min_gap_hours <= st.cluster_window_hours, false) AS is_cluster
FROM per_enterprise AS p
LEFT JOIN gaps AS g ON g.credit_code = p.credit_code
CROSS JOIN stg_settings AS st;
