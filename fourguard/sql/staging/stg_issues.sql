-- one row per issue, from the feed and raised in the app; key: issue_id
-- The feed's own workflow columns (status, assigned_at, …) become events in stg_issue_events.
CREATE OR REPLACE VIEW stg_issues AS
SELECT issue_id, credit_code, category, detail, reported_at, source,
       deadline_at AS feed_deadline_at, 'feed' AS origin
FROM raw.issues
UNION ALL
SELECT a.issue_id, a.credit_code, a.category, a.detail, a.reported_at, a.source,
       NULL::TIMESTAMP, 'app'
FROM wb_app_issues AS a
WHERE a.reported_at IS NOT NULL
  AND a.issue_id NOT IN (SELECT issue_id FROM raw.issues);  -- the feed's copy wins on a clash
