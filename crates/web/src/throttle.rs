//! Sign-in throttling that slows an attacker, not the owner (`docs/security.md`):
//!
//! - per **account and client address**: five free failures, then each further attempt
//!   from that address for that account waits 30 s, doubling to at most 15 minutes; the
//!   owner signing in from elsewhere is not slowed, and nobody is locked out;
//! - unknown e-mails are throttled exactly alike, and every answer costs the same password
//!   check, so neither the status nor the timing says which accounts exist;
//! - the client address is the connection's, or — behind a trusted reverse proxy — the last
//!   `X-Forwarded-For` hop that is not a trusted proxy; IPv6 addresses count by their /64.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

/// Failures allowed before attempts are spaced out.
pub const FREE_FAILURES: u32 = 5;
/// The first wait after the free failures, doubling after each further failure.
pub const FIRST_WAIT_SECS: u64 = 30;
/// The longest wait.
pub const MAX_WAIT_SECS: u64 = 15 * 60;

/// The address an IP counts as: itself (IPv4), or its /64 (IPv6: one subscriber's block).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// The client's address: the peer's, or behind a trusted proxy the last forwarded hop that
/// is not itself a trusted proxy.
pub fn client_ip(
    peer: Option<SocketAddr>,
    forwarded_for: Option<&str>,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> = forwarded_for
        .unwrap_or_default()
        .split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    Some(
        hops.into_iter()
            .rev()
            .find(|h| !trusted_proxies.contains(h))
            .unwrap_or(peer),
    )
}

/// How long to wait after `failures` failures.
pub fn wait_secs(failures: u32) -> u64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(16);
    (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
}

/// Whose attempts are counted together: an e-mail (as typed, lower case) from an address's
/// bucket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Attempts {
    email: String,
    from: Option<IpAddr>,
}

/// The failures counted for one [`Attempts`].
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    /// When the last one happened, seconds since the epoch.
    last: u64,
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    seen: Mutex<HashMap<Attempts, Failures>>,
}

fn key(email: &str, ip: Option<IpAddr>) -> Attempts {
    Attempts {
        email: email.to_owned(),
        from: ip.map(bucket),
    }
}

impl SignInThrottle {
    /// `Err(seconds to wait)` when this account and address must wait.
    pub fn check(&self, email: &str, ip: Option<IpAddr>, now: u64) -> Result<(), u64> {
        let Ok(seen) = self.seen.lock() else {
            return Ok(());
        };
        match seen.get(&key(email, ip)) {
            Some(f) => {
                let until = f.last + wait_secs(f.count);
                if now < until {
                    Err(until - now)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    pub fn failed(&self, email: &str, ip: Option<IpAddr>, now: u64) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        // Forget pairs idle for longer than the longest wait, so the map stays small.
        if seen.len() > 100_000 {
            seen.retain(|_, f| now.saturating_sub(f.last) < MAX_WAIT_SECS);
        }
        let f = seen.entry(key(email, ip)).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    pub fn succeeded(&self, email: &str, ip: Option<IpAddr>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(&key(email, ip));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(bucket(mapped), "192.0.2.7".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let peer = |ip: &str| Some(SocketAddr::new(ip.parse().expect("ip"), 40000));
        let xff = Some("198.51.100.9, 203.0.113.5");
        assert_eq!(
            client_ip(peer("10.0.0.2"), xff, &[proxy]),
            Some("203.0.113.5".parse().expect("ip"))
        );
        // From anyone else the header is ignored.
        assert_eq!(
            client_ip(peer("192.0.2.1"), xff, &[proxy]),
            Some("192.0.2.1".parse().expect("ip"))
        );
        // A spoofed first hop does not help: the last untrusted hop counts.
        assert_eq!(
            client_ip(
                peer("10.0.0.2"),
                Some("1.2.3.4, 203.0.113.5, 10.0.0.2"),
                &[proxy]
            ),
            Some("203.0.113.5".parse().expect("ip"))
        );
    }

    #[test]
    fn waits_double_from_30_s_to_15_minutes() {
        assert_eq!(wait_secs(4), 0);
        assert_eq!(wait_secs(5), 30);
        assert_eq!(wait_secs(6), 60);
        assert_eq!(wait_secs(9), 480);
        assert_eq!(wait_secs(10), 900);
        assert_eq!(wait_secs(40), 900);
    }
}
