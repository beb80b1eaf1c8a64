-- scalar macro: R1/R2's required testing interval in hours, the strictest rule that applies (常态
-- always; 流动接触岗位; 县区应急状态; 闭环生产). st: the stg_settings row (its table alias).
CREATE OR REPLACE MACRO required_interval_hours(st, is_mobile, is_emergency, is_closed_loop) AS
    least(
        st.normal_interval_hours,
        CASE WHEN is_mobile THEN st.mobile_interval_hours END,
        CASE WHEN is_emergency THEN st.emergency_interval_hours END,
        CASE WHEN is_closed_loop THEN st.closed_loop_interval_hours END
    );
