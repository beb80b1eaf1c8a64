-- one row per staff class: an enterprise's roster entries in 流动接触岗位, or the rest; key: class_id
-- The ingest-maintained rollup raw.staff_classes (fourguard/rollups.py), with its roster count.
CREATE OR REPLACE VIEW stg_staff_classes AS
SELECT class_id, credit_code, is_mobile, count_employees
FROM raw.staff_classes;
