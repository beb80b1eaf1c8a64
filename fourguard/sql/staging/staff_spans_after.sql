-- table macro: the spans of stg_staff_spans still open after time t (the latest, or the next sample
-- later than t): every span that can hold t or a later time; class_id, sampled_at, next_sampled_at.
-- Written as two halves, the latest spans and those ending after t, so each half's filter can skip
-- row groups on the table's statistics (an OR of both cannot).
CREATE OR REPLACE MACRO staff_spans_after(t) AS TABLE
SELECT class_id, sampled_at, next_sampled_at FROM stg_staff_spans
WHERE next_sampled_at IS NULL
UNION ALL
SELECT class_id, sampled_at, next_sampled_at FROM stg_staff_spans
WHERE next_sampled_at > CAST(t AS TIMESTAMP);
