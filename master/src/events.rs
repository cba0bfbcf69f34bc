//! The master's in-process event bus: every part of the daemon fires
//! `(tag, data)` events (salt/auth, salt/minion/ID/start, salt/job/JID/new,
//! salt/job/JID/ret/ID, salt/key, ...) and any number of subscribers (the
//! local socket serving a CLI, the reactor) receive those whose tag starts
//! with their prefix. A subscriber that stops reading is dropped once its
//! queue is full, so it never stalls the daemon.

use brine_core::value::Value;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

/// One event: its tag and its data (a map, with `_stamp` added by [`EventBus::fire`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub tag: String,
    pub data: Value,
}

struct Subscriber {
    prefix: String,
    tx: SyncSender<Event>,
}

/// Fan-out of events to subscribers by tag prefix.
#[derive(Default)]
pub struct EventBus {
    subscribers: Mutex<Vec<Subscriber>>,
}

/// How many events a subscriber may have waiting before it is dropped.
pub const SUBSCRIBER_QUEUE: usize = 10_000;

/// Salt's event timestamp format (`2026-11-29T04:30:00.123456`).
pub fn stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: gmtime_r writes into the tm we own.
    unsafe { libc::gmtime_r(&secs, &mut tm) };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}

impl EventBus {
    pub fn new() -> EventBus {
        EventBus::default()
    }

    /// Receive every later event whose tag starts with `prefix` ("" for all).
    pub fn subscribe(&self, prefix: &str) -> Receiver<Event> {
        let (tx, rx) = sync_channel(SUBSCRIBER_QUEUE);
        let mut subs = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.push(Subscriber {
            prefix: prefix.to_string(),
            tx,
        });
        rx
    }

    /// Send `data` under `tag` to every matching subscriber. A map gets
    /// Salt's `_stamp` key when it has none. Subscribers that are gone or
    /// full are removed.
    pub fn fire(&self, tag: &str, data: Value) {
        let data = match data {
            Value::Map(mut m) => {
                let k = Value::from("_stamp");
                if !m.contains_key(&k) {
                    m.insert(k, Value::from(stamp().as_str()));
                }
                Value::Map(m)
            }
            other => other,
        };
        let mut subs = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| {
            if !tag.starts_with(&s.prefix) {
                return true;
            }
            let ev = Event {
                tag: tag.to_string(),
                data: data.clone(),
            };
            match s.tx.try_send(ev) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }

    /// Number of live subscribers (for tests and status).
    pub fn subscribers(&self) -> usize {
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn prefix_fanout_stamp_and_dropped_subscribers() {
        let bus = EventBus::new();
        let job = bus.subscribe("salt/job/1/");
        let all = bus.subscribe("");
        let gone = bus.subscribe("salt/");
        drop(gone);
        bus.fire("salt/job/1/ret/m1", Value::Map(Default::default()));
        bus.fire("salt/auth", Value::Map(Default::default()));
        let ev = job.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(ev.tag, "salt/job/1/ret/m1");
        assert!(ev
            .data
            .as_map()
            .unwrap()
            .contains_key(&Value::from("_stamp")));
        assert!(job.try_recv().is_err());
        assert_eq!(all.try_iter().count(), 2);
        assert_eq!(bus.subscribers(), 2);
    }
}
