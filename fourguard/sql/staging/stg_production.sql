-- one row per enterprise per day; key: credit_code, report_date
CREATE OR REPLACE VIEW stg_production AS
SELECT
    credit_code,
    report_date,
    status,
    status = '闭环生产' AS is_closed_loop,
    status = '停产' AS is_shut_down,
    output_wan_yuan,
    capacity_pct,
    on_duty,
    power_kwh
FROM raw.production;
