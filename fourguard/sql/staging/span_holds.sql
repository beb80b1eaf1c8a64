-- scalar macro: whether a span of stg_test_spans / stg_staff_spans holds time t, i.e. its sample is
-- the one in force at t (sampled_at <= t < next sample; the latest holds from its time on).
CREATE OR REPLACE MACRO span_holds(sampled_at, next_sampled_at, t) AS
    sampled_at <= CAST(t AS TIMESTAMP) AND (next_sampled_at IS NULL OR next_sampled_at > CAST(t AS TIMESTAMP));
