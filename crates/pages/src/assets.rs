//! The static files, compiled into the binary: the stylesheet and one script — htmx
//! (vendored, unmodified, pinned: 2.0.11 from the npm package `htmx.org`) followed by the few
//! lines of cellpath's own that add what htmx does not (upload checks and progress, copying a
//! link). Their addresses carry a hash of their content, so a browser may keep them for a
//! year; they go compressed (zlib, `Content-Encoding: deflate`) to a browser that accepts it.
//! Pages themselves are not compressed: they carry the CSRF token beside what people typed,
//! which compression would expose to a BREACH-style attack.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "cellpath.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/cellpath.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: concat!(
            include_str!("../static/htmx-2.0.11.min.js"),
            "\n",
            include_str!("../static/cellpath.js")
        )
        .as_bytes(),
    },
];

/// Each asset compressed once, on first use.
fn compressed(name: &str) -> Option<&'static [u8]> {
    static Z: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    Z.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                (
                    a.name,
                    miniz_oxide::deflate::compress_to_vec_zlib(a.body, 9),
                )
            })
            .collect()
    })
    .iter()
    .find(|(n, _)| *n == name)
    .map(|(_, z)| z.as_slice())
}

/// FNV-1a: a short content hash for cache-busting addresses (not a security measure).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hashes() -> &'static Vec<(&'static str, String)> {
    static H: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    H.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| (a.name, format!("{:012x}", fnv(a.body) & 0xffff_ffff_ffff)))
            .collect()
    })
}

/// The address of a static file: `/static/<hash>/<name>`.
pub fn href(name: &str) -> String {
    let hash = hashes()
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("0", |(_, h)| h.as_str());
    format!("/static/{hash}/{name}")
}

/// `GET /static/{hash}/{name}`: cached for a year when the hash is the current one.
pub async fn serve(
    Path((hash, name)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let current = hashes().iter().any(|(n, h)| *n == name && *h == hash);
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let deflate = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("deflate")));
    let zipped = if deflate { compressed(&name) } else { None };
    let mut r = zipped.unwrap_or(asset.body).into_response();
    let h = r.headers_mut();
    if zipped.is_some() {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("deflate"),
        );
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}
