#!/usr/bin/env bash
# A PNG of every page, both languages, at 390 px and 1280 px, in screenshots/ for review.
# Needs Node.js and Debian's chromium (apt-get install chromium); uses the demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
(cd e2e && npm ci --no-audit --no-fund >/dev/null)
(cd e2e && CELLPATH_BIN=../target/release/cellpath SCREENSHOTS=../screenshots node screenshots.mjs)
