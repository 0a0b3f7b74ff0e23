// Times and durations as a person reads them, in the viewer's own time zone and language.

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateClock = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** A local wall-clock time; the date too unless it is today. */
export function localTime(date, now = new Date()) {
  if (!date) return '';
  return date.toDateString() === now.toDateString() ? clock.format(date) : dateClock.format(date);
}

/** 42 s, 3 min 5 s, 2 h 10 min, 3 d 4 h. */
export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, seconds);
  if (s < 10) return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60), r = Math.floor(s % 60);
    return r ? `${m} min ${r} s` : `${m} min`;
  }
  if (s < 86400) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** "in 42 s", "now", "5 s ago". */
export function relative(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '';
  if (Math.abs(seconds) < 0.5) return 'now';
  return seconds > 0 ? `in ${duration(Math.round(seconds))}` : `${duration(Math.round(-seconds))} ago`;
}

export function parseTime(text) {
  return text ? new Date(text) : null;
}
