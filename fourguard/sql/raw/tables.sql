-- The loaded feeds: typed, validated rows exactly as providers sent them (ID numbers hashed).
-- Written only by `fourguard ingest`; every other layer reads them through views.
-- person_key = first 128 bits of sha256(hash_key || '|' || id_number); id_masked = 4113**********1234.

-- one row per enterprise ever listed; key: credit_code
CREATE TABLE IF NOT EXISTS enterprises (
    credit_code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    county_code VARCHAR NOT NULL,
    sector VARCHAR NOT NULL,
    headcount INTEGER NOT NULL,
    annual_output_wan_yuan DOUBLE,
    lng DOUBLE,
    lat DOUBLE,
    cadre VARCHAR,
    listed_on DATE NOT NULL,
    removed_on DATE,
    has_sampling_hut BOOLEAN,
    closed_loop_capable BOOLEAN,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per county per state change; key: county_code, since
CREATE TABLE IF NOT EXISTS county_states (
    county_code VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    since TIMESTAMP NOT NULL,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per county per sector: the sector's whole output value (R6 denominator); key: county_code, sector
CREATE TABLE IF NOT EXISTS sector_outputs (
    county_code VARCHAR NOT NULL,
    sector VARCHAR NOT NULL,
    sector_output_wan_yuan DOUBLE NOT NULL,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per person per enterprise roster; key: credit_code, person_key
CREATE TABLE IF NOT EXISTS employees (
    credit_code VARCHAR NOT NULL,
    person_key UHUGEINT NOT NULL,
    id_masked VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    job_type VARCHAR NOT NULL,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per listed place of an enterprise; key: credit_code, place_name
CREATE TABLE IF NOT EXISTS places (
    credit_code VARCHAR NOT NULL,
    place_name VARCHAR NOT NULL,
    place_code VARCHAR,
    kind VARCHAR NOT NULL,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per enterprise per day; key: credit_code, report_date
CREATE TABLE IF NOT EXISTS production (
    credit_code VARCHAR NOT NULL,
    report_date DATE NOT NULL,
    status VARCHAR NOT NULL,
    output_wan_yuan DOUBLE,
    capacity_pct DOUBLE,
    on_duty INTEGER,
    power_kwh DOUBLE,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per issue as the feed last reported it; key: issue_id (app write-backs live elsewhere)
CREATE TABLE IF NOT EXISTS issues (
    issue_id VARCHAR NOT NULL,
    credit_code VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    reported_at TIMESTAMP NOT NULL,
    source VARCHAR,
    status VARCHAR,
    status_at TIMESTAMP,
    department VARCHAR,
    assignee VARCHAR,
    assigned_at TIMESTAMP,
    deadline_at TIMESTAMP,
    resolved_at TIMESTAMP,
    revisit VARCHAR,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per person per sample; key: sample_id, person_key
CREATE TABLE IF NOT EXISTS tests (
    sample_id VARCHAR NOT NULL,
    person_key UHUGEINT NOT NULL,
    id_masked VARCHAR NOT NULL,
    name VARCHAR,
    sampled_at TIMESTAMP NOT NULL,
    result VARCHAR NOT NULL,
    resulted_at TIMESTAMP,
    tube VARCHAR NOT NULL,
    pool_id VARCHAR,
    site VARCHAR,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per scan; key: place_code, person_key, scanned_at
CREATE TABLE IF NOT EXISTS scans (
    place_code VARCHAR NOT NULL,
    person_key UHUGEINT NOT NULL,
    id_masked VARCHAR NOT NULL,
    scanned_at TIMESTAMP NOT NULL,
    health_code VARCHAR NOT NULL,
    source_file VARCHAR,
    loaded_at TIMESTAMP
);

-- one row per rejected row; key: feed, reason_code, raw_row. raw_row holds canonical columns, ID masked.
CREATE TABLE IF NOT EXISTS quarantine (
    file VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    line BIGINT,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    retryable BOOLEAN NOT NULL,
    raw_row VARCHAR NOT NULL,
    person_key UHUGEINT,
    quarantined_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);

-- one row per file per ingest attempt
CREATE TABLE IF NOT EXISTS ingest_log (
    run_id VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    file_sha256 VARCHAR,
    feed VARCHAR,
    file_format VARCHAR,
    encoding VARCHAR,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    seconds DOUBLE,
    rows_read BIGINT,
    rows_inserted BIGINT,
    rows_updated BIGINT,
    rows_unchanged BIGINT,
    rows_quarantined BIGINT,
    status VARCHAR NOT NULL,     -- loaded | refused | skipped | retried
    message VARCHAR,
    max_data_at TIMESTAMP        -- latest timestamp in the file's rows (freshness)
);

-- Rollup, maintained by ingest at the end of each run, in the snapshot it swaps in (fourguard/rollups.py).
-- One row per person and sample time (of several samples at one time: a positive, else the larger
-- sample_id), with that person's next sample time. The sample in force at t is the row with
-- sampled_at <= t < next_sampled_at (next NULL: the latest), so "last sample at as_of" is a filter.
-- key: person_key, sampled_at
CREATE TABLE IF NOT EXISTS test_spans (
    person_key UHUGEINT NOT NULL,
    sampled_at TIMESTAMP NOT NULL,
    result VARCHAR NOT NULL,
    tube VARCHAR NOT NULL,
    next_sampled_at TIMESTAMP
);

-- Rollup, maintained with test_spans (fourguard/rollups.py): the tests of a person with a 阳性 or
-- 待复核 result from their first such sample on (R8 rechecks, R15 positives), a few hundred rows
-- instead of every sample: the tests table's columns, without the load's file and time.
-- key: sample_id, person_key
CREATE TABLE IF NOT EXISTS flagged_tests AS SELECT * EXCLUDE (source_file, loaded_at) FROM tests LIMIT 0;

-- Rollup, maintained with test_spans: every 红码/黄码 scan (R4), a few thousand rows a day instead of
-- every scan. key: place_code, person_key, scanned_at
CREATE TABLE IF NOT EXISTS flagged_scans (
    place_code VARCHAR NOT NULL,
    person_key UHUGEINT NOT NULL,
    id_masked VARCHAR NOT NULL,
    scanned_at TIMESTAMP NOT NULL,
    health_code VARCHAR NOT NULL
);

-- Rollup, rebuilt at the end of each ingest run: the roster entries of the people in flagged_tests
-- or flagged_scans, the only staff the R8, R15 and R4 models look up (instead of all 3 M entries).
-- key: credit_code, person_key
CREATE TABLE IF NOT EXISTS flagged_staff (
    credit_code VARCHAR NOT NULL,
    person_key UHUGEINT NOT NULL,
    id_masked VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    job_type VARCHAR NOT NULL
);

-- Rollup, maintained with test_spans: each place code's first and last scan on each day it was
-- scanned. A 24 h window (as_of - 24 h, as_of] meets two days, and a code was scanned in it exactly
-- when one of them has first_scanned_at <= as_of and last_scanned_at > as_of - 24 h (R3's active
-- codes), so pages read 2 × 140 k rows instead of the window's 6 M scans. key: place_code, day
CREATE TABLE IF NOT EXISTS place_days (
    place_code VARCHAR NOT NULL,
    day DATE NOT NULL,
    first_scanned_at TIMESTAMP NOT NULL,
    last_scanned_at TIMESTAMP NOT NULL
);

-- Rollup, maintained with test_spans (fourguard/rollups.py): the roster in staff classes, one per
-- enterprise and job kind (流动接触岗位 or not), each with a stable integer id and its number of roster
-- entries. Every R1 interval rule is the same for a whole class at any moment.
-- key: credit_code, is_mobile (and class_id)
CREATE TABLE IF NOT EXISTS staff_classes (
    class_id INTEGER NOT NULL,
    credit_code VARCHAR NOT NULL,
    is_mobile BOOLEAN NOT NULL,
    count_employees BIGINT NOT NULL
);

-- Rollup, maintained with test_spans: each roster entry's spans under its staff class, so the R1/R2
-- counts at any time are one filtered scan grouped by an integer (staff_testing in sql/metrics),
-- not a join of 3 M staff with their samples. Kept roughly in order of the day each span ends, then of
-- class_id (each load appends its spans so): the zone maps skip the spans that ended before as_of and,
-- as a county's classes have ids in one block (rollups._CLASSES), other counties' spans.
-- key: class_id, person_key, sampled_at
CREATE TABLE IF NOT EXISTS staff_spans (
    class_id INTEGER NOT NULL,
    person_key UHUGEINT NOT NULL,
    sampled_at TIMESTAMP NOT NULL,
    next_sampled_at TIMESTAMP
);

-- Rollup, maintained by ingest at the end of each run (fourguard/rollups.py): the R1/R2 counts of
-- each enterprise on each day from the first to the last sample's date, judged at the day's 24:00
-- (testing_days in sql/metrics), with the county state left open: count_within_emergency is the count
-- under 县区应急's interval, which the reader picks when the county was in 应急 at check_at.
-- key: day, credit_code
CREATE TABLE IF NOT EXISTS testing_days (
    day DATE NOT NULL,
    check_at TIMESTAMP NOT NULL,
    credit_code VARCHAR NOT NULL,
    county_code VARCHAR,
    city_code VARCHAR,
    sector VARCHAR,
    is_closed_loop BOOLEAN NOT NULL,
    count_employees BIGINT NOT NULL,
    count_within_base BIGINT NOT NULL,
    count_within_emergency BIGINT NOT NULL
);

-- The days testing_days holds and the R1 intervals (hours) it was computed with; at most one row.
-- A reader configured with other intervals computes every day itself.
CREATE TABLE IF NOT EXISTS testing_days_range (
    first_day DATE NOT NULL,
    last_day DATE NOT NULL,
    normal_hours DOUBLE,
    mobile_hours DOUBLE,
    emergency_hours DOUBLE,
    closed_loop_hours DOUBLE
);
