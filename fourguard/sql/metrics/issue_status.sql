-- one row per issue reported at or before as_of by an enterprise on the whitelist at as_of; key: issue_id
-- R11: state = the latest event at or before as_of. Deadline = the latest deadline set by an event
-- <= as_of, else the feed's 办理时限, else 23:59:59 of the n-th working day (cfg_calendar) after
-- the reported date, n from cfg_issue_limits by category ('default' as fallback).
-- Closed = 已办结/已回访/已销号; resolved_at = first 已办结 event (first closing event when there is
-- none). Overdue = open and deadline < as_of; on time = closed and resolved_at <= deadline.
CREATE OR REPLACE MACRO issue_status(as_of) AS TABLE
WITH events AS (
    SELECT
        issue_id,
        arg_max(to_state, event_seq) AS state,
        arg_max(event_at, event_seq) AS state_at,
        arg_max(department, event_seq) FILTER (WHERE department IS NOT NULL) AS department,
        arg_max(assignee, event_seq) FILTER (WHERE assignee IS NOT NULL) AS assignee,
        arg_max(deadline_at, event_seq) FILTER (WHERE deadline_at IS NOT NULL) AS event_deadline_at,
        arg_max(revisit, event_seq) FILTER (WHERE revisit IS NOT NULL) AS revisit,
        min(event_at) FILTER (WHERE to_state = '已办结') AS first_resolved_at,
        min(event_at) FILTER (WHERE is_closed_state) AS first_closed_at,
        count(*) AS count_events
    FROM stg_issue_events
    WHERE event_at <= CAST(as_of AS TIMESTAMP)
    GROUP BY issue_id
),
issues AS (
    SELECT
        i.*,
        w.enterprise_name, w.county_code, w.county_name, w.city_code, w.city_name, w.sector,
        coalesce(lc.workdays, ld.workdays) AS limit_workdays,
        CAST(dl.day AS TIMESTAMP) + INTERVAL 86399 SECOND AS rule_deadline_at
    FROM stg_issues AS i
    JOIN whitelist(as_of) AS w ON w.credit_code = i.credit_code
    LEFT JOIN cfg_issue_limits AS lc ON lc.category = i.category
    LEFT JOIN cfg_issue_limits AS ld ON ld.category = 'default'
    LEFT JOIN stg_workdays AS rd ON rd.day = CAST(i.reported_at AS DATE)
    LEFT JOIN stg_workdays AS dl
        ON dl.is_workday AND dl.workday_index = rd.workday_index + coalesce(lc.workdays, ld.workdays)
    WHERE i.reported_at <= CAST(as_of AS TIMESTAMP)
),
combined AS (
    SELECT
        i.issue_id, i.credit_code, i.enterprise_name, i.county_code, i.county_name, i.city_code,
        i.city_name, i.sector, i.category, i.detail, i.source, i.origin, i.reported_at,
        coalesce(e.state, '待交办') AS state,
        e.state_at, e.department, e.assignee, e.revisit, e.count_events,
        coalesce(e.event_deadline_at, i.feed_deadline_at, i.rule_deadline_at) AS deadline_at,
        CASE
            WHEN e.event_deadline_at IS NOT NULL THEN 'app'
            WHEN i.feed_deadline_at IS NOT NULL THEN 'feed'
            WHEN i.rule_deadline_at IS NOT NULL THEN 'rule'
        END AS deadline_source,
        i.limit_workdays,
        coalesce(e.state IN ('已办结', '已回访', '已销号'), false) AS is_closed,
        coalesce(e.first_resolved_at, e.first_closed_at) AS resolved_at
    FROM issues AS i
    LEFT JOIN events AS e ON e.issue_id = i.issue_id
)
SELECT
    *,
    NOT is_closed AS is_open,
    coalesce(NOT is_closed AND deadline_at < CAST(as_of AS TIMESTAMP), false) AS is_overdue,
    coalesce(is_closed AND resolved_at <= deadline_at, false) AS is_on_time,
    CASE WHEN NOT is_closed AND deadline_at < CAST(as_of AS TIMESTAMP)
         THEN date_diff('microsecond', deadline_at, CAST(as_of AS TIMESTAMP)) / 3600000000.0
    END AS overdue_hours
FROM combined;
