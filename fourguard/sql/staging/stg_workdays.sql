-- one row per calendar day; key: day
-- workday_index counts working days up to and including the day, so "the n-th working day
-- after d" is the working day whose index is workday_index(d) + n.
CREATE OR REPLACE VIEW stg_workdays AS
SELECT
    day,
    is_workday,
    sum(CASE WHEN is_workday THEN 1 ELSE 0 END) OVER (ORDER BY day) AS workday_index
FROM cfg_calendar;
