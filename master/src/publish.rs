//! The publisher on `interface:publish_port` (Salt's PubServerChannel over
//! ZeroMQ) and the master's targeting (Salt's `CkMinions.check_minions`).
//!
//! [`Publisher::publish`] may be called from any thread: it wraps the load
//! as `wrap_payload` does (encrypted with the current AES key, a rising
//! `serial`, `sig` when `sign_pub_messages`, one message per target minion
//! topic under `zmq_filtering` for glob/pcre/list targets, else
//! `broadcast`) and hands the frames over an inproc PUSH/PULL pair to the
//! thread that owns the PUB socket.
//!
//! Targeting: the accepted keys are matched with `brine_core::matcher`
//! against the grains and pillar the minions last reported
//! (`pillar::cached_data`). A minion with no cached data is counted for
//! data-dependent targets (Salt's `greedy` behaviour).

use crate::auth::Auth;
use crate::config::{opt_bool, opt_int, opt_str};
use crate::keys::{KeyState, KeyStore};
use brine_core::matcher::{self, MatchContext};
use brine_core::value::{Map, Value};
use brine_core::wire::keys::SigAlgo;
use brine_core::wire::server::{wrap_publish, PublishWrap};
use brine_core::wire::sockets::{self, SocketOpts};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publisher socket: {0}")]
    Zmq(#[from] zmq::Error),
    #[error("cannot bind the publisher to {endpoint}: {source}")]
    Bind {
        endpoint: String,
        source: zmq::Error,
    },
    #[error("cannot wrap the publication: {0}")]
    Wrap(#[from] brine_core::wire::keys::KeyError),
    #[error("cannot start the publisher thread: {0}")]
    Thread(std::io::Error),
}

/// `CkMinions.check_minions(tgt, tgt_type, greedy=True)`: the accepted
/// minions the target matches, sorted.
pub fn check_minions(opts: &Map, keys: &KeyStore, tgt: &Value, tgt_type: &str) -> Vec<String> {
    check_minions_greedy(opts, keys, tgt, tgt_type, true)
}

/// `check_minions` with Salt's `greedy` flag: when false, a minion with no
/// cached grains/pillar never matches a data-dependent target.
pub fn check_minions_greedy(
    opts: &Map,
    keys: &KeyStore,
    tgt: &Value,
    tgt_type: &str,
    greedy: bool,
) -> Vec<String> {
    let accepted = keys.list().remove(&KeyState::Accepted).unwrap_or_default();
    let cachedir = opt_str(opts, "cachedir").unwrap_or(".").to_string();
    let nodegroups = opts
        .get(&Value::from("nodegroups"))
        .cloned()
        .unwrap_or(Value::Null);
    let id_only = matches!(tgt_type, "glob" | "pcre" | "list");
    let mut out = Vec::new();
    for id in accepted {
        let cached = if id_only {
            None
        } else {
            crate::pillar::cached_data(Path::new(&cachedir), &id)
        };
        if !id_only && cached.is_none() {
            // Greedy: no data known yet, the minion may match.
            if greedy {
                out.push(id);
            }
            continue;
        }
        let (grains, pillar) = cached.unwrap_or((Value::Null, Value::Null));
        let ctx = MatchContext {
            id: &id,
            grains: &grains,
            pillar: &pillar,
            nodegroups: &nodegroups,
        };
        match matcher::matches(tgt, tgt_type, &ctx) {
            Ok(true) => out.push(id),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!("Invalid target {:?} ({}): {}", tgt, tgt_type, e);
                return Vec::new();
            }
        }
    }
    out.sort();
    out
}

static PUBLISHER_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The publisher: a PUB socket owned by one thread, fed over inproc.
pub struct Publisher {
    push: Mutex<zmq::Socket>,
    auth: Arc<Auth>,
    opts: Map,
    keys: KeyStore,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Publisher {
    /// Bind `tcp://interface:publish_port` and start the PUB thread.
    pub fn start(
        ctx: &zmq::Context,
        opts: &Map,
        auth: Arc<Auth>,
        keys: KeyStore,
    ) -> Result<Publisher, PublishError> {
        let so = SocketOpts::from_opts(opts);
        let pub_sock = sockets::socket(ctx, zmq::PUB, &so)?;
        let iface = opt_str(opts, "interface").unwrap_or("0.0.0.0");
        let port = opt_int(opts, "publish_port", 4505).clamp(0, 65535) as u16;
        let endpoint = sockets::tcp_endpoint(iface, port);
        pub_sock
            .bind(&endpoint)
            .map_err(|source| PublishError::Bind {
                endpoint: endpoint.clone(),
                source,
            })?;
        tracing::info!("Starting the Salt Publisher on {}", endpoint);
        let inproc = format!(
            "inproc://brine-publish-{}",
            PUBLISHER_SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let pull = ctx.socket(zmq::PULL)?;
        pull.set_linger(0)?;
        pull.bind(&inproc)?;
        let push = ctx.socket(zmq::PUSH)?;
        push.set_linger(0)?;
        push.set_sndhwm(100_000)?;
        push.connect(&inproc)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || pub_loop(pull, pub_sock, stop2))
            .map_err(PublishError::Thread)?;
        Ok(Publisher {
            push: Mutex::new(push),
            auth,
            opts: opts.clone(),
            keys,
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Publish `load` (`{fun, arg, tgt, tgt_type, jid, ret, user, ...}`)
    /// to the minions.
    pub fn publish(&self, load: &Map) -> Result<(), PublishError> {
        let zmq_filtering = opt_bool(&self.opts, "zmq_filtering", false);
        let tgt_type = load
            .get(&Value::from("tgt_type"))
            .and_then(Value::as_str)
            .unwrap_or("glob")
            .to_string();
        let tgt = load
            .get(&Value::from("tgt"))
            .cloned()
            .unwrap_or(Value::Null);
        let topics: Option<Vec<String>> =
            if zmq_filtering && matches!(&*tgt_type, "pcre" | "glob" | "list") {
                match &tgt {
                    Value::Str(_) => Some(check_minions(&self.opts, &self.keys, &tgt, &tgt_type)),
                    Value::List(l) => Some(
                        l.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    ),
                    _ => None,
                }
            } else {
                None
            };
        let sign = if matches!(
            self.opts.get(&Value::from("sign_pub_messages")),
            Some(Value::Bool(true))
        ) {
            let algo = SigAlgo::parse(
                opt_str(&self.opts, "publish_signing_algorithm").unwrap_or("PKCS1v15-SHA1"),
            )
            .unwrap_or(SigAlgo::Pkcs1v15Sha1);
            Some((self.auth.master_key(), algo))
        } else {
            None
        };
        // Serial, wrapping and sending happen under one lock so serials
        // reach the PUB socket in order.
        let push = self.push.lock().unwrap_or_else(|e| e.into_inner());
        let msgs = self.auth.with_next_serial(|c, serial| {
            wrap_publish(
                load,
                &PublishWrap {
                    crypticle: c,
                    sign,
                    topics: topics.as_deref(),
                    zmq_filtering,
                    serial,
                },
            )
        })?;
        for m in msgs {
            push.send_multipart(m, 0)?;
        }
        Ok(())
    }

    /// Stop the PUB thread.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn pub_loop(pull: zmq::Socket, pub_sock: zmq::Socket, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let mut items = [pull.as_poll_item(zmq::POLLIN)];
        match zmq::poll(&mut items, 200) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(zmq::Error::EINTR) => continue,
            Err(e) => {
                tracing::error!("publisher poll: {}", e);
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
        }
        // Drain what is queued, bounded so stop is noticed.
        for _ in 0..1000 {
            match pull.recv_multipart(zmq::DONTWAIT) {
                Ok(frames) => {
                    if let Err(e) = pub_sock.send_multipart(frames, 0) {
                        tracing::error!("Exception in publisher: {}", e);
                    }
                }
                Err(_) => break,
            }
        }
    }
}
