//! E-mail as a notification channel: an SMTP client (RFC 5321) with STARTTLS or implicit TLS
//! (rustls, the web PKI's roots or the operator's CA), and the [`Channel`] interface other
//! providers (SMS, WeChat) can implement later.
//!
//! What is sent never holds clinical text or a name: a subject saying that something needs
//! the reader, and a link to the page (`notify::mail_for`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A message for one reader, in their language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// A way to reach a person outside the site.
pub trait Channel: Send + Sync + std::fmt::Debug {
    /// A short name for logs and the audit log (`email`).
    fn name(&self) -> &'static str;
    /// Sends `mail` to `to`; the error says why, without the message's content.
    fn send<'a>(
        &'a self,
        to: &'a str,
        mail: &'a Mail,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (`smtps://`, port 465).
    Implicit,
    /// Plain, then `STARTTLS` before anything else is said (`smtp://`, port 587); refused
    /// when the server does not offer it.
    StartTls,
    /// No TLS at all (`smtp://…?tls=none`): only for a relay on the same machine. No
    /// password is ever sent this way.
    None,
}

/// An SMTP server to send through.
#[derive(Clone)]
pub struct Smtp {
    host: String,
    port: u16,
    tls: Tls,
    auth: Option<(String, String)>,
    from: String,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
}

impl std::fmt::Debug for Smtp {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.auth.as_ref().map(|a| &a.0))
            .field("from", &self.from)
            .finish()
    }
}

impl Smtp {
    /// From an address such as `smtp://user:password@mail.example.org:587` (STARTTLS),
    /// `smtps://…:465` (TLS), or `smtp://127.0.0.1:2525?tls=none`; `from` is the sender's
    /// address; `ca_pem`, when given, replaces the web PKI's roots (a private CA).
    pub fn parse(url: &str, from: &str, ca_pem: Option<&[u8]>) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| "the SMTP address must start with smtp:// or smtps://".to_owned())?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let rest = rest.trim_end_matches('/');
        let mut tls = match scheme {
            "smtp" => Tls::StartTls,
            "smtps" => Tls::Implicit,
            other => {
                return Err(format!(
                    "{other}:// is not an SMTP address (smtp:// or smtps://)"
                ));
            }
        };
        if let Some(q) = query {
            for pair in q.split('&') {
                match pair {
                    "tls=none" if scheme == "smtp" => tls = Tls::None,
                    "tls=starttls" if scheme == "smtp" => tls = Tls::StartTls,
                    other => {
                        return Err(format!(
                            "{other}: the SMTP address knows only tls=none or tls=starttls"
                        ));
                    }
                }
            }
        }
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((cred, hp)) => {
                let (u, p) = cred.split_once(':').ok_or_else(|| {
                    "write the SMTP user and password as user:password@".to_owned()
                })?;
                (Some((percent_decode(u)?, percent_decode(p)?)), hp)
            }
            None => (None, rest),
        };
        if auth.is_some() && tls == Tls::None {
            return Err("a password is never sent to an SMTP server without TLS".into());
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.to_owned(),
                p.parse::<u16>()
                    .map_err(|_| format!("{p}: not a port number"))?,
            ),
            None => (
                hostport.to_owned(),
                if tls == Tls::Implicit { 465 } else { 587 },
            ),
        };
        if host.is_empty() {
            return Err("the SMTP address has no host".into());
        }
        if !from.contains('@') || from.contains(['<', '>', '\r', '\n', ' ']) {
            return Err(format!("{from:?} is not a sender's e-mail address"));
        }
        let mut roots = rustls::RootCertStore::empty();
        match ca_pem {
            Some(pem) => {
                use rustls::pki_types::pem::PemObject;
                let mut n = 0;
                for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| format!("the SMTP CA file: {e}"))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("the SMTP CA file: {e}"))?;
                    n += 1;
                }
                if n == 0 {
                    return Err("the SMTP CA file holds no certificate".into());
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        Ok(Self {
            host,
            port,
            tls,
            auth,
            from: from.to_owned(),
            roots: Arc::new(roots),
            timeout: Duration::from_secs(30),
        })
    }

    pub fn tls(&self) -> Tls {
        self.tls
    }

    async fn deliver(&self, to: &str, mail: &Mail) -> Result<(), String> {
        if !to.contains('@') || to.contains(['<', '>', '\r', '\n', ' ']) {
            return Err("the recipient's address cannot be written in SMTP".into());
        }
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
        let _ = tcp.set_nodelay(true);
        let message = message(&self.from, to, mail, &self.host);
        match self.tls {
            Tls::Implicit => {
                let tls = self.wrap(tcp).await?;
                let mut c = Conn::new(tls);
                c.expect(220).await?;
                self.converse(&mut c, to, &message).await
            }
            Tls::None => {
                let mut c = Conn::new(tcp);
                c.expect(220).await?;
                self.converse(&mut c, to, &message).await
            }
            Tls::StartTls => {
                let mut c = Conn::new(tcp);
                c.expect(220).await?;
                let ehlo = c.command(&format!("EHLO {}", hello_name()), 250).await?;
                if !ehlo.lines().any(|l| {
                    l.get(4..)
                        .is_some_and(|x| x.eq_ignore_ascii_case("STARTTLS"))
                }) {
                    return Err("the SMTP server does not offer STARTTLS".into());
                }
                c.command("STARTTLS", 220).await?;
                if !c.buffered_empty() {
                    return Err("the SMTP server spoke before TLS began".into());
                }
                let tls = self.wrap(c.into_inner()).await?;
                let mut c = Conn::new(tls);
                self.converse(&mut c, to, &message).await
            }
        }
    }

    async fn wrap(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(Arc::clone(&self.roots))
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|e| format!("{}: {e}", self.host))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {}: {e}", self.host))
    }

    /// Everything after the greeting (and after STARTTLS): EHLO, AUTH, the envelope, DATA.
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        c: &mut Conn<S>,
        to: &str,
        message: &str,
    ) -> Result<(), String> {
        let ehlo = c.command(&format!("EHLO {}", hello_name()), 250).await?;
        if let Some((user, pass)) = &self.auth {
            if !ehlo.lines().any(|l| {
                l.get(4..).is_some_and(|x| {
                    x.to_ascii_uppercase().starts_with("AUTH")
                        && x.to_ascii_uppercase().contains("PLAIN")
                })
            }) {
                return Err("the SMTP server does not offer AUTH PLAIN".into());
            }
            let token = base64(format!("\0{user}\0{pass}").as_bytes());
            c.command_secret(&format!("AUTH PLAIN {token}"), 235)
                .await?;
        }
        c.command(&format!("MAIL FROM:<{}>", self.from), 250)
            .await?;
        let rcpt = c
            .command_any(&format!("RCPT TO:<{to}>"), &[250, 251])
            .await?;
        let _ = rcpt;
        c.command("DATA", 354).await?;
        c.write_raw(&dot_stuff(message)).await?;
        c.command(".", 250).await?;
        // The message is accepted; a failed QUIT changes nothing.
        let _ = c.command("QUIT", 221).await;
        Ok(())
    }
}

impl Channel for Smtp {
    fn name(&self) -> &'static str {
        "email"
    }
    fn send<'a>(
        &'a self,
        to: &'a str,
        mail: &'a Mail,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.deliver(to, mail)).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "the SMTP server did not answer within {:?}",
                    self.timeout
                )),
            }
        })
    }
}

fn hello_name() -> &'static str {
    "cellpath.localhost"
}

/// The message as SMTP carries it: headers, then the body in base64 (UTF-8 in both languages).
fn message(from: &str, to: &str, mail: &Mail, host: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut id = [0u8; 12];
    let _ = getrandom::fill(&mut id);
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let domain = from.rsplit_once('@').map_or(host, |(_, d)| d);
    let body = base64(mail.body.as_bytes());
    let mut wrapped = String::new();
    for chunk in body.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        wrapped.push_str("\r\n");
    }
    format!(
        "From: cellpath <{from}>\r\nTo: <{to}>\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{id}@{domain}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n{wrapped}",
        encoded_word(&mail.subject),
        rfc2822(now),
    )
}

/// A header's text as an RFC 2047 encoded word when it is not plain ASCII.
fn encoded_word(text: &str) -> String {
    let clean: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    if clean.is_ascii() {
        clean
    } else {
        format!("=?UTF-8?B?{}?=", base64(clean.as_bytes()))
    }
}

/// Lines that start with a dot get another (RFC 5321 §4.5.2); every line ends in CRLF.
fn dot_stuff(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for line in message.split("\r\n") {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    // `split` gave an empty last piece after the final CRLF: drop its CRLF.
    if message.ends_with("\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}

fn rfc2822(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let stamp = cellpath_store::rfc3339(secs);
    let (y, m, d) = (&stamp[0..4], &stamp[5..7], &stamp[8..10]);
    let month = m.parse::<usize>().unwrap_or(1).clamp(1, 12);
    let day = d.trim_start_matches('0');
    format!(
        "{}, {day} {} {y} {} +0000",
        DAYS[usize::try_from((secs / 86_400) % 7).unwrap_or(0)],
        MONTHS[month - 1],
        &stamp[11..19]
    )
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    "a % in the SMTP user or password must be followed by two hex digits".to_owned()
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the SMTP user or password is not UTF-8".to_owned())
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(char::from(A[(n >> 18) as usize & 63]));
        out.push(char::from(A[(n >> 12) as usize & 63]));
        out.push(if c.len() > 1 {
            char::from(A[(n >> 6) as usize & 63])
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            char::from(A[n as usize & 63])
        } else {
            '='
        });
    }
    out
}

/// One SMTP connection: replies read line by line from our own buffer (so that nothing is
/// lost when STARTTLS hands the socket to TLS).
struct Conn<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    fn buffered_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn into_inner(self) -> S {
        self.stream
    }

    async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).collect();
                return Ok(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            if self.buf.len() > 64 * 1024 {
                return Err("the SMTP server's reply is too long".into());
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("reading from the SMTP server: {e}"))?;
            if n == 0 {
                return Err("the SMTP server closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A whole reply (all its lines) and its code.
    async fn reply(&mut self) -> Result<(u16, String), String> {
        let mut text = String::new();
        loop {
            let line = self.line().await?;
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| "the SMTP server's reply has no code".to_owned())?;
            text.push_str(&line);
            text.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text));
            }
        }
    }

    async fn expect(&mut self, want: u16) -> Result<String, String> {
        let (code, text) = self.reply().await?;
        if code == want {
            Ok(text)
        } else {
            Err(format!("the SMTP server answered {}", text.trim_end()))
        }
    }

    async fn write_raw(&mut self, text: &str) -> Result<(), String> {
        self.stream
            .write_all(text.as_bytes())
            .await
            .map_err(|e| format!("writing to the SMTP server: {e}"))?;
        self.stream
            .flush()
            .await
            .map_err(|e| format!("writing to the SMTP server: {e}"))
    }

    async fn command(&mut self, cmd: &str, want: u16) -> Result<String, String> {
        self.command_any(cmd, &[want]).await
    }

    async fn command_any(&mut self, cmd: &str, want: &[u16]) -> Result<String, String> {
        self.write_raw(&format!("{cmd}\r\n")).await?;
        let (code, text) = self.reply().await?;
        if want.contains(&code) {
            Ok(text)
        } else {
            let verb = cmd.split_whitespace().next().unwrap_or(cmd);
            Err(format!(
                "the SMTP server refused {verb}: {}",
                text.trim_end()
            ))
        }
    }

    /// A command whose text must not appear in an error (credentials).
    async fn command_secret(&mut self, cmd: &str, want: u16) -> Result<String, String> {
        self.write_raw(&format!("{cmd}\r\n")).await?;
        let (code, text) = self.reply().await?;
        if code == want {
            Ok(text)
        } else {
            Err(format!(
                "the SMTP server refused the sign-in: {}",
                text.trim_end()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_the_rfc_gives_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn addresses_are_read_with_their_protection() {
        let s = Smtp::parse("smtp://127.0.0.1:2525?tls=none", "team@example.org", None)
            .expect("plain relay");
        assert_eq!((s.port, s.tls), (2525, Tls::None));
        let s = Smtp::parse("smtps://u%40x:p%3Aw@mail.example.org", "a@b.c", None).expect("tls");
        assert_eq!(s.port, 465);
        assert_eq!(s.auth, Some(("u@x".into(), "p:w".into())));
        assert!(!format!("{s:?}").contains("p:w"), "no password in Debug");
        assert!(Smtp::parse("smtp://u:p@127.0.0.1:25?tls=none", "a@b.c", None).is_err());
        assert!(Smtp::parse("http://x", "a@b.c", None).is_err());
        assert!(Smtp::parse("smtp://x:25", "not an address", None).is_err());
    }

    #[test]
    fn lines_that_start_with_a_dot_are_stuffed() {
        assert_eq!(dot_stuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n");
    }

    #[test]
    fn dates_and_subjects_as_mail_writes_them() {
        assert_eq!(rfc2822(1_800_000_000), "Fri, 15 Jan 2027 08:00:00 +0000");
        assert_eq!(encoded_word("plain"), "plain");
        assert_eq!(
            encoded_word("警报"),
            format!("=?UTF-8?B?{}?=", base64("警报".as_bytes()))
        );
    }
}
