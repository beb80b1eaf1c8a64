// The wall's screen component (st.components.v2): a clock that ticks in the browser (Beijing time),
// and the viewport size reported to Python, which sizes the map and the chart in pixels.
export default function ({ parentElement, setStateValue }) {
  const clock = parentElement.querySelector(".wall-clock");
  const zone = { timeZone: "Asia/Shanghai" };
  const timeFmt = new Intl.DateTimeFormat("zh-CN", { ...zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const dateFmt = new Intl.DateTimeFormat("zh-CN", { ...zone, year: "numeric", month: "long", day: "numeric", weekday: "short" });
  const tick = () => {
    const now = new Date();
    clock.querySelector(".wall-clock-time").textContent = timeFmt.format(now);
    clock.querySelector(".wall-clock-date").textContent = dateFmt.format(now);
  };
  tick();
  const timer = setInterval(tick, 1000);

  let sent = "";
  let pending = null;
  const report = () => {
    const size = { width: window.innerWidth, height: window.innerHeight };
    const text = `${size.width}x${size.height}`;
    if (text !== sent) {
      sent = text;
      setStateValue("viewport", size);
    }
  };
  const onResize = () => {
    clearTimeout(pending);
    pending = setTimeout(report, 300);
  };
  report();
  window.addEventListener("resize", onResize);
  return () => {
    clearInterval(timer);
    clearTimeout(pending);
    window.removeEventListener("resize", onResize);
  };
}
