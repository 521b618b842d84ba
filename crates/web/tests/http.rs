//! The server over real HTTP on a loopback port: health, sign-in with a Set-Cookie, and an
//! authenticated read.

use cellpath_web::policy::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn request(addr: std::net::SocketAddr, raw: String) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn serves_over_tcp() {
    let db = cellpath_store::testing::fresh().await;
    let store = cellpath_store::Store::connect(&db.url)
        .await
        .expect("connect");
    let state = std::sync::Arc::new(cellpath_web::AppState {
        store,
        catalogue: cellpath_eligibility::shipped().expect("catalogue"),
        config: cellpath_web::Config::default(),
    });
    cellpath_web::create_user(
        &state,
        "setup",
        "p@example.org",
        "a long passphrase",
        Role::Patient,
        None,
    )
    .await
    .expect("user");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(cellpath_web::serve(listener, state));

    let health = request(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let body = r#"{"email":"p@example.org","password":"a long passphrase"}"#;
    let signin = request(
        addr,
        format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(signin.starts_with("HTTP/1.1 200"), "{signin}");
    let cookie = signin
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let me = request(
        addr,
        format!(
            "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(
        me.starts_with("HTTP/1.1 200") && me.contains("\"role\":\"patient\""),
        "{me}"
    );

    // Sign-in is throttled per client address (20 a minute), before any password check.
    let mut statuses = Vec::new();
    for _ in 0..22 {
        let body = r#"{"email":"nobody@example.org","password":"guess"}"#;
        let r = request(
            addr,
            format!(
                "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        statuses.push(r.split_whitespace().nth(1).unwrap_or_default().to_owned());
    }
    assert!(statuses.iter().take(18).all(|s| s == "401"), "{statuses:?}");
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("429"),
        "{statuses:?}"
    );
    server.abort();
}
