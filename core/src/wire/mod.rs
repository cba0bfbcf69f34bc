//! Salt's wire protocol pieces shared by master and minion: the msgpack
//! payload codec ([`payload`]), the session-key encryption ([`crypticle`])
//! and RSA keys ([`keys`]). Everything read from the network is decoded
//! with limits and never panics.

pub mod client;
pub mod crypticle;
pub mod keys;
pub mod payload;
pub mod server;
pub mod sockets;
pub mod x931;
