-- one row per person per enterprise roster; key: credit_code, person_key
CREATE OR REPLACE VIEW stg_employees AS
SELECT
    credit_code,
    person_key,
    id_masked,
    name AS person_name,
    job_type,
    job_type = '流动接触岗位' AS is_mobile_job
FROM raw.employees;
