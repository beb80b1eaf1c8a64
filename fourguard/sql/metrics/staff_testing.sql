-- one row per staff class of an enterprise on the whitelist at as_of (class_rules); key: class_id
-- R1/R2 counted per class from the staff_spans rollup: a roster entry is within its interval when the
-- sample in force at as_of (its span holds as_of) is no older than the interval, both ends inclusive
-- (sampled_at >= within_from); overdue otherwise; never tested when no sample is at or before as_of.
-- The same rule as employee_status, which judges each person; this reads one span per tested entry.
CREATE OR REPLACE MACRO staff_testing(as_of) AS TABLE
WITH rules AS (
    SELECT * FROM class_rules(as_of)
),
in_force AS (
    SELECT
        s.class_id,
        count(*) AS count_tested,
        count(*) FILTER (WHERE s.sampled_at >= r.within_from) AS count_within_interval,
        min(s.sampled_at) AS oldest_sampled_at,
        max(s.sampled_at) FILTER (WHERE s.sampled_at < r.within_from) AS last_overdue_sampled_at
    FROM staff_spans_at(as_of) AS s
    JOIN rules AS r ON r.class_id = s.class_id
    GROUP BY s.class_id
)
SELECT
    r.* EXCLUDE (within_from),
    coalesce(f.count_within_interval, 0) AS count_within_interval,
    r.count_employees - coalesce(f.count_within_interval, 0) AS count_overdue,
    r.count_employees - coalesce(f.count_tested, 0) AS count_never_tested,
    -- the oldest sample in force is overdue whenever any tested entry is
    CASE WHEN f.oldest_sampled_at < r.within_from
         THEN date_diff('microsecond', f.oldest_sampled_at, CAST(as_of AS TIMESTAMP)) / 3600000000.0
    END AS max_hours_since_sample,
    f.last_overdue_sampled_at + hours_to_interval(r.interval_hours) AS last_due_at
FROM rules AS r
LEFT JOIN in_force AS f ON f.class_id = r.class_id;
