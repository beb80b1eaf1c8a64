-- one row per issue state change, from the feed's columns and the app's write-backs; key: issue_id, event_seq
-- Feed events: reported_at → 待交办, assigned_at → 已交办, resolved_at → 已办结, status_at → status
-- (a status sent without status_at holds from the latest time the feed does give).
-- event_seq orders events by time; at equal times feed events come first, in workflow order,
-- then app events by event id. Only app events set deadlines (the feed's is the fallback).
CREATE OR REPLACE VIEW stg_issue_events AS
WITH feed AS (
    SELECT issue_id, reported_at AS "at", '待交办' AS to_state, NULL::VARCHAR AS department,
           NULL::VARCHAR AS assignee, NULL::VARCHAR AS revisit, 0 AS kind_rank
    FROM stg_issues
    UNION ALL
    SELECT issue_id, assigned_at, '已交办', department, assignee, NULL, 1
    FROM raw.issues WHERE assigned_at IS NOT NULL
    UNION ALL
    SELECT issue_id, resolved_at, '已办结', department, assignee, NULL, 2
    FROM raw.issues WHERE resolved_at IS NOT NULL
    UNION ALL
    SELECT issue_id, coalesce(status_at, greatest(reported_at, assigned_at, resolved_at)), status,
           department, assignee, revisit, 3
    FROM raw.issues WHERE status IS NOT NULL
),
unioned AS (
    SELECT issue_id, "at", NULL::VARCHAR AS from_state, to_state, department, assignee,
           NULL::TIMESTAMP AS deadline_at, NULL::VARCHAR AS note, revisit, NULL::VARCHAR AS batch_id,
           '数据接口' AS actor, 'feed' AS origin, 0 AS origin_rank, kind_rank, NULL::BIGINT AS event_id
    FROM feed
    UNION ALL
    SELECT issue_id, "at", from_state, to_state, department, assignee, deadline_at, note, revisit,
           batch_id, actor, 'app', 1, 0, event_id
    FROM wb_issue_events
    WHERE issue_id IS NOT NULL AND "at" IS NOT NULL AND to_state IS NOT NULL
)
SELECT
    issue_id,
    row_number() OVER (PARTITION BY issue_id ORDER BY "at", origin_rank, kind_rank, event_id) AS event_seq,
    "at" AS event_at,
    from_state,
    to_state,
    to_state IN ('已办结', '已回访', '已销号') AS is_closed_state,
    department,
    assignee,
    deadline_at,
    note,
    revisit,
    batch_id,
    actor,
    origin,
    event_id
FROM unioned;
