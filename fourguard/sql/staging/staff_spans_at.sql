-- table macro: the spans of stg_staff_spans that hold time t (span_holds), as class_id, sampled_at.
CREATE OR REPLACE MACRO staff_spans_at(t) AS TABLE
SELECT class_id, sampled_at FROM staff_spans_after(t)
WHERE sampled_at <= CAST(t AS TIMESTAMP);
