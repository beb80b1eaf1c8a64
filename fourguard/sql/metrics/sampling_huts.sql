-- one row per whitelisted enterprise at as_of with 员工人数 >= hut_headcount; key: credit_code
-- R7: such enterprises are expected to own a 核酸采样屋.
CREATE OR REPLACE MACRO sampling_huts(as_of) AS TABLE
SELECT
    w.credit_code, w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
    w.headcount, w.has_sampling_hut
FROM whitelist(as_of) AS w
CROSS JOIN stg_settings AS st
WHERE w.headcount >= st.hut_headcount;
