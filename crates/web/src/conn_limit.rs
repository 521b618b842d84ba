//! Connections per client address, so that no single host can hold every connection slot
//! (security round 2, issue 28: one host keeping 1,030 idle connections open, and reopening
//! them as they closed, starved everyone else — and with them the caregiver's diary warnings
//! and the monitoring alerts).
//!
//! - A host (an IPv4 address, an IPv6 /64) holds at most [`crate::Config::max_connections_per_address`]
//!   connections; a further one is closed at once, while other hosts are still served.
//! - Behind a trusted reverse proxy every connection comes from the proxy, so the proxy is not
//!   capped per connection; each forwarded client is capped instead by the requests it has in
//!   flight ([`in_flight`]), answered 503 with `Retry-After` past the cap.
//! - When the server runs short of slots (less than an eighth free), a new connection serves
//!   one request and closes: nobody's idle keep-alive connection holds a slot then.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::throttle::bucket;

/// Counts of open connections (or requests in flight) per address bucket.
#[derive(Debug, Default)]
pub struct PerAddress {
    cap: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// Held while a connection (or request) of an address is open; gives its place back on drop.
#[derive(Debug)]
pub struct AddressSlot {
    owner: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            counts: Mutex::default(),
        })
    }

    /// A place for `ip`, or `None` when its bucket holds the cap already.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let key = bucket(ip);
        let mut counts = self.counts.lock().ok()?;
        let n = counts.entry(key).or_default();
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            owner: Arc::clone(self),
            key,
        })
    }

    /// Open connections (or requests) of the bucket `ip` falls in.
    pub fn held(&self, ip: IpAddr) -> usize {
        self.counts
            .lock()
            .ok()
            .and_then(|c| c.get(&bucket(ip)).copied())
            .unwrap_or(0)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.owner.counts.lock()
            && let Some(n) = counts.get_mut(&self.key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Whether a new connection should be served with keep-alive: not when fewer than an eighth
/// of the slots are free, so idle connections do not hold what others need.
pub fn keep_alive(free_slots: usize, max_connections: usize) -> bool {
    free_slots.saturating_mul(8) >= max_connections
}

/// The request layer's half: behind a trusted proxy, requests in flight per forwarded
/// client. A client past its cap is answered 503 with `Retry-After`, never held.
pub async fn in_flight(
    limits: Arc<PerAddress>,
    trusted_proxies: Arc<Vec<IpAddr>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let behind_proxy = peer.is_some_and(|p| trusted_proxies.contains(&p.ip()));
    if !behind_proxy {
        return next.run(req).await;
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let Some(client) = crate::throttle::client_ip(peer, forwarded, &trusted_proxies) else {
        return next.run(req).await;
    };
    match limits.try_acquire(client) {
        Some(_slot) => next.run(req).await,
        None => {
            tracing::warn!("requests in flight per client reached behind the proxy");
            axum::response::IntoResponse::into_response(crate::ApiError::busy(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_at_most_its_cap_and_gives_places_back() {
        let limits = PerAddress::new(2);
        let a: IpAddr = "203.0.113.5".parse().expect("ip");
        let b: IpAddr = "203.0.113.6".parse().expect("ip");
        let one = limits.try_acquire(a).expect("one");
        let _two = limits.try_acquire(a).expect("two");
        assert!(limits.try_acquire(a).is_none(), "the third of one host");
        assert!(limits.try_acquire(b).is_some(), "another host");
        drop(one);
        assert!(limits.try_acquire(a).is_some(), "a place given back");
        // One IPv6 subscriber (a /64) is one host, whatever its interface ids.
        let limits = PerAddress::new(1);
        let x: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let y: IpAddr = "2001:db8:1:2::ffff".parse().expect("ip");
        let _x = limits.try_acquire(x).expect("x");
        assert!(limits.try_acquire(y).is_none());
        assert_eq!(limits.held(y), 1);
    }

    #[test]
    fn keep_alive_only_while_an_eighth_of_the_slots_is_free() {
        assert!(keep_alive(1024, 1024));
        assert!(keep_alive(128, 1024));
        assert!(!keep_alive(127, 1024));
        assert!(!keep_alive(0, 1024));
    }
}
