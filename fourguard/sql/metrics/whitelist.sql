-- one row per enterprise on the whitelist at as_of; key: credit_code
-- On the whitelist at t: 纳入日期 <= t and (no 移出日期 or 移出日期 > t), dates as midnight timestamps.
CREATE OR REPLACE MACRO whitelist(as_of) AS TABLE
SELECT *
FROM stg_enterprises
WHERE listed_at <= CAST(as_of AS TIMESTAMP)
  AND (removed_at IS NULL OR removed_at > CAST(as_of AS TIMESTAMP));
