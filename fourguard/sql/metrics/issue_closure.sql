-- one row per issue in issue_status(as_of), with the times the closure page measures; key: issue_id
-- assigned_at = the first 已交办 event at or before as_of; hours_to_assign = reported → assigned_at;
-- hours_to_close = reported → resolved_at (closed issues only); age_hours = reported → as_of;
-- age_bucket buckets the age of open issues (NULL when closed); version = the app writes the issue
-- has had (wb_issue_versions), which a write-back form must send back.
CREATE OR REPLACE MACRO issue_closure(as_of) AS TABLE
WITH assigned AS (
    SELECT issue_id, min(event_at) AS assigned_at
    FROM stg_issue_events
    WHERE to_state = '已交办' AND event_at <= CAST(as_of AS TIMESTAMP)
    GROUP BY issue_id
),
timed AS (
    SELECT
        s.*,
        a.assigned_at,
        date_diff('second', s.reported_at, a.assigned_at) / 3600.0 AS hours_to_assign,
        CASE WHEN s.is_closed THEN date_diff('second', s.reported_at, s.resolved_at) / 3600.0 END AS hours_to_close,
        date_diff('second', s.reported_at, CAST(as_of AS TIMESTAMP)) / 3600.0 AS age_hours,
        coalesce(v.version, 0) AS version
    FROM issue_status(as_of) AS s
    LEFT JOIN assigned AS a ON a.issue_id = s.issue_id
    LEFT JOIN wb_issue_versions AS v ON v.issue_id = s.issue_id
)
SELECT
    *,
    CASE
        WHEN is_closed THEN NULL
        WHEN age_hours < 24 THEN '<1天'
        WHEN age_hours < 72 THEN '1–3天'
        WHEN age_hours < 168 THEN '3–7天'
        ELSE '>7天'
    END AS age_bucket
FROM timed;
