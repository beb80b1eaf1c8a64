-- scalar macro: a (possibly fractional) number of hours as an INTERVAL, exact to the microsecond
CREATE OR REPLACE MACRO hours_to_interval(hours) AS
    to_microseconds(CAST(round(hours * 3600000000) AS BIGINT));
