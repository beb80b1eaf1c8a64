-- one row per person per sample; key: sample_id, person_key
-- result_at is when the result is known: 结果时间, or the sampling time when none was sent.
CREATE OR REPLACE VIEW stg_tests AS
SELECT
    sample_id,
    person_key,
    id_masked,
    name AS person_name,
    sampled_at,
    result,
    resulted_at,
    coalesce(resulted_at, sampled_at) AS result_at,
    tube,
    tube = '混管' AS is_pooled,
    result = '阳性' AS is_positive,
    pool_id,
    site
FROM raw.tests;
