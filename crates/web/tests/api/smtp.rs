//! A local SMTP server for the tests (a sink: it accepts every message and keeps it), with
//! STARTTLS on a test CA made when the tests start (`pki`), so that the e-mail channel is
//! tested against a real server over a real connection.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the sink received it.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (dot-unstuffed).
    pub data: String,
    /// The connection had switched to TLS before the message.
    pub over_tls: bool,
    /// `AUTH PLAIN` credentials, decoded (user, password).
    pub auth: Option<(String, String)>,
}

impl Received {
    /// The body, base64-decoded (the client sends UTF-8 text in base64).
    pub fn body(&self) -> String {
        let (_, body) = self.data.split_once("\r\n\r\n").unwrap_or(("", ""));
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8(decode(&clean)).unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.data.split("\r\n\r\n").next()?.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
    }
}

fn decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let Some(v) = A.iter().position(|a| *a == c) else {
            continue;
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// A running sink: its port and what it received.
pub struct Sink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

/// Starts a sink on 127.0.0.1; with `tls`, it offers STARTTLS (and AUTH only after it).
pub async fn start(tls: bool) -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let acceptor = tls.then(acceptor);
    let kept = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let kept = Arc::clone(&kept);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = session(sock, acceptor, kept).await;
            });
        }
    });
    Sink { port, received }
}

/// The tests' certificate authority and a server certificate for `localhost` and
/// `127.0.0.1` it signed, made once per test run (no key is kept in git).
struct TestPki {
    ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

fn pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "cellpath test CA");
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
        let server =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        let key = rcgen::KeyPair::generate().expect("server key");
        let cert = server
            .signed_by(&key, &ca_cert, &ca_key)
            .expect("server cert");
        TestPki {
            ca_pem: ca_cert.pem(),
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    })
}

/// The test CA's certificate, PEM: what the client trusts.
pub fn ca_pem() -> &'static [u8] {
    pki().ca_pem.as_bytes()
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    let p = pki();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(p.key.clone().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![p.cert.clone()], key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn session(
    sock: tokio::net::TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    kept: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let mut plain = BufReader::new(sock);
    plain.get_mut().write_all(b"220 sink ESMTP\r\n").await?;
    let upgraded = dialogue(&mut plain, acceptor.is_some(), false, &kept).await?;
    if upgraded && let Some(acc) = acceptor {
        let tls = acc.accept(plain.into_inner()).await?;
        let mut tls = BufReader::new(tls);
        dialogue(&mut tls, false, true, &kept).await?;
    }
    Ok(())
}

/// Speaks SMTP until QUIT (false) or an accepted STARTTLS (true).
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    offer_tls: bool,
    over_tls: bool,
    kept: &Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<bool> {
    let mut msg = Received {
        over_tls,
        ..Received::default()
    };
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Ok(false);
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            let mut r = String::from("250-sink\r\n");
            if offer_tls {
                r.push_str("250-STARTTLS\r\n");
            }
            if over_tls {
                r.push_str("250-AUTH PLAIN\r\n");
            }
            r.push_str("250 8BITMIME\r\n");
            r
        } else if upper == "STARTTLS" && offer_tls {
            s.get_mut().write_all(b"220 go ahead\r\n").await?;
            return Ok(true);
        } else if let Some(token) = cmd.strip_prefix("AUTH PLAIN ") {
            let raw = decode(token);
            let parts: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            msg.auth = Some((
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default(),
            ));
            "235 ok\r\n".into()
        } else if let Some(a) = upper.strip_prefix("MAIL FROM:") {
            msg.from = cmd[cmd.len() - a.len()..]
                .trim_matches(['<', '>', ' '])
                .to_owned();
            "250 ok\r\n".into()
        } else if let Some(a) = upper.strip_prefix("RCPT TO:") {
            msg.to.push(
                cmd[cmd.len() - a.len()..]
                    .trim_matches(['<', '>', ' '])
                    .to_owned(),
            );
            "250 ok\r\n".into()
        } else if upper == "DATA" {
            s.get_mut().write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if s.read_line(&mut line).await? == 0 {
                    return Ok(false);
                }
                if line == ".\r\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            msg.data = data;
            kept.lock().expect("lock").push(std::mem::take(&mut msg));
            msg.over_tls = over_tls;
            "250 queued\r\n".into()
        } else if upper == "QUIT" {
            s.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(false);
        } else {
            "502 not here\r\n".into()
        };
        s.get_mut().write_all(reply.as_bytes()).await?;
    }
}
