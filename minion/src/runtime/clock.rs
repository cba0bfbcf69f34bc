//! Wall-clock formats the state runtime shares with Salt: a result's
//! `start_time` (local `HH:MM:SS.ffffff`), its `duration` (milliseconds with
//! microsecond resolution), and job ids (`YYYYmmddHHMMSSffffff`, local time)
//! with `salt.utils.jid.jid_to_time`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Local broken-down time plus microseconds.
struct LocalTime {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micro: u32,
}

fn local_now() -> LocalTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: `tm` is plain old data; localtime_r only writes into it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec.min(59) as u32,
        micro: now.subsec_micros(),
    }
}

/// Python's `datetime.time.isoformat()` of now, local time: the
/// microseconds are left out when they are zero, as Python does.
pub fn start_time() -> String {
    let t = local_now();
    let mut s = String::with_capacity(15);
    push_digits(&mut s, t.hour, 2);
    s.push(':');
    push_digits(&mut s, t.minute, 2);
    s.push(':');
    push_digits(&mut s, t.second, 2);
    if t.micro != 0 {
        s.push('.');
        push_digits(&mut s, t.micro, 6);
    }
    s
}

/// `n` as `width` decimal digits, zero-padded (`{:0width$}` for values
/// that fit, without the formatting machinery).
fn push_digits(s: &mut String, n: u32, width: u32) {
    for i in (0..width).rev() {
        let d = (n / 10u32.pow(i)) % 10;
        s.push(char::from(b'0' + d as u8));
    }
}

/// A running timer for one state: its `start_time` and the monotonic start.
pub struct Timer {
    pub start_time: String,
    started: Instant,
}

impl Timer {
    pub fn start() -> Timer {
        Timer {
            start_time: start_time(),
            started: Instant::now(),
        }
    }

    /// Elapsed milliseconds, truncated to whole microseconds as Salt's
    /// `(delta.seconds * 1000000 + delta.microseconds) / 1000.0`.
    pub fn duration_ms(&self) -> f64 {
        self.started.elapsed().as_micros() as f64 / 1000.0
    }
}

/// `_calculate_fake_duration`: a start time and a near-zero duration for
/// results of states that did not run.
pub fn fake_duration() -> (String, f64) {
    let t = Timer::start();
    let d = t.duration_ms();
    (t.start_time, d)
}

/// `salt.utils.jid.gen_jid`: a new job id from the local time.
pub fn gen_jid() -> String {
    let t = local_now();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:06}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.micro
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `salt.utils.jid.jid_to_time`: `"2026, Nov 29 01:10:12.123456"`, or ""
/// for something that is not a job id.
pub fn jid_to_time(jid: &str) -> String {
    let ok_len = jid.len() == 20 || (jid.len() > 21 && jid.as_bytes()[20] == b'_');
    if !ok_len || !jid[..20].bytes().all(|b| b.is_ascii_digit()) {
        return String::new();
    }
    let month: usize = jid[4..6].parse().unwrap_or(0);
    let Some(name) = month.checked_sub(1).and_then(|m| MONTHS.get(m)) else {
        return String::new();
    };
    format!(
        "{}, {} {} {}:{}:{}.{}",
        &jid[..4],
        name,
        &jid[6..8],
        &jid[8..10],
        &jid[10..12],
        &jid[12..14],
        &jid[14..20]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_pad_like_format() {
        for (n, w) in [
            (0, 2),
            (7, 2),
            (59, 2),
            (0, 6),
            (5, 6),
            (123456, 6),
            (999999, 6),
        ] {
            let mut s = String::new();
            push_digits(&mut s, n, w);
            assert_eq!(s, format!("{n:0w$}", w = w as usize));
        }
    }

    #[test]
    fn formats() {
        let s = start_time();
        assert!(s.len() == 8 || s.len() == 15, "{s}");
        let j = gen_jid();
        assert_eq!(j.len(), 20);
        assert_eq!(
            jid_to_time("20261129011012123456"),
            "2026, Nov 29 01:10:12.123456"
        );
        assert_eq!(jid_to_time("nope"), "");
    }
}
