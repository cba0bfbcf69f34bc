//! brine-master: the master daemon and its CLIs (`brine`, `brine-key`,
//! `brine-run`), speaking Salt 3007's ZeroMQ protocol so stock salt-minions
//! and brine-minions can both connect.
//!
//! Reading order (the data path of one job):
//! - [`config`]: /etc/salt/master + master.d/*.conf, Salt's defaults.
//! - [`keys`]: the key store in Salt's pki layout (minions/, minions_pre/,
//!   minions_rejected/, minions_denied/, master.pem/master.pub).
//! - [`auth`]: the `_auth` exchange and the rotating AES session.
//! - [`request`]: the request server on ret_port (ROUTER + worker threads),
//!   dispatching each decrypted load by `cmd`.
//! - [`fileserver`], [`pillar`], [`mine`]: the request handlers minions use
//!   for salt:// files, their pillar and mine data.
//! - [`publish`]: the publisher on publish_port.
//! - [`jobs`]: the job cache (Salt's local_cache layout under cachedir).
//! - [`events`]: the in-process event bus (salt/auth, salt/job/JID/ret/ID).
//! - [`reactor`]: event tag -> reactor SLS -> local calls to publish.
//! - [`local`]: the root-only unix socket the CLIs talk to, both sides.
//! - [`cli`]: the `brine`, `brine-key` and `brine-run` front ends.
//! - [`daemon`]: starts and wires everything.

pub mod auth;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod events;
pub mod fileserver;
pub mod jobs;
pub mod keys;
pub mod local;
pub mod mine;
pub mod pillar;
pub mod publish;
pub mod reactor;
pub mod request;
