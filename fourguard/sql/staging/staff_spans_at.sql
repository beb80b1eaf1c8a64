-- table macro: the spans of stg_staff_spans that hold time t (span_holds), as class_id, sampled_at.
-- span_holds split in two: the latest spans (no next sample) and those ending after t, so each half's
-- filter can skip row groups on the table's statistics (an OR of both cannot).
CREATE OR REPLACE MACRO staff_spans_at(t) AS TABLE
SELECT class_id, sampled_at FROM stg_staff_spans
WHERE next_sampled_at IS NULL AND sampled_at <= CAST(t AS TIMESTAMP)
UNION ALL
SELECT class_id, sampled_at FROM stg_staff_spans
WHERE next_sampled_at > CAST(t AS TIMESTAMP) AND sampled_at <= CAST(t AS TIMESTAMP);
