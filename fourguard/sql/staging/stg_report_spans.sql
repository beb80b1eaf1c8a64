-- one row per production report, with the date of the enterprise's next report; key: credit_code, report_date
-- A report holds from its date until the day before the next one (NULL: still the latest), so the
-- report in force on day d is the one row with report_date <= d < next_report_date: a filter, where
-- the latest report on or before d would otherwise be a max over every earlier report.
CREATE OR REPLACE VIEW stg_report_spans AS
SELECT
    credit_code,
    report_date,
    lead(report_date) OVER (PARTITION BY credit_code ORDER BY report_date) AS next_report_date,
    status,
    on_duty
FROM stg_production;
