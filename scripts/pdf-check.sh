#!/usr/bin/env bash
# The example report's PDFs as a reader's tools see them (Debian's poppler-utils): the text
# pdftotext extracts is the golden text in crates/report-pdf/tests/golden (both kinds, both
# languages); every font is embedded with a Unicode map (pdffonts); the document is tagged
# and declares PDF/A-2 (pdfinfo). BLESS=1 rewrites the golden text after a wanted change.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in pdftotext pdffonts pdfinfo; do
  command -v "$tool" >/dev/null || { echo "pdf-check: $tool is missing (apt-get install poppler-utils)" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Built with the whole workspace (the same build as the tests and the binary: nothing compiles
# again in CI), then run.
cargo build --quiet --locked --release --workspace --examples
./target/release/examples/report_sample "$out" >/dev/null
golden=crates/report-pdf/tests/golden
fail=0
for name in mdt-en mdt-zh-CN patient-en patient-zh-CN; do
  pdf="$out/$name.pdf"
  pdftotext -enc UTF-8 "$pdf" "$out/$name.txt"
  [ "${BLESS:-}" = 1 ] && cp "$out/$name.txt" "$golden/$name.txt"
  if ! diff -u "$golden/$name.txt" "$out/$name.txt"; then
    echo "pdf-check: $name.pdf: its text differs from $golden/$name.txt (BLESS=1 scripts/pdf-check.sh accepts it)" >&2
    fail=1
  fi
  # name type… emb sub uni object ID: the columns counted from the end.
  fonts=$(pdffonts "$pdf" | tail -n +3)
  [ -n "$fonts" ] || { echo "pdf-check: $name.pdf: no fonts" >&2; fail=1; }
  bad=$(printf '%s\n' "$fonts" | awk 'NF && ($(NF-4) != "yes" || $(NF-2) != "yes")')
  [ -z "$bad" ] || { echo "pdf-check: $name.pdf: a font not embedded or without a Unicode map: $bad" >&2; fail=1; }
  pdfinfo "$pdf" 2>/dev/null | grep -q '^Tagged: *yes' || { echo "pdf-check: $name.pdf: not tagged" >&2; fail=1; }
  pdfinfo -meta "$pdf" 2>/dev/null | grep -q 'pdfaid:part>2<\|pdfaid:part="2"' || { echo "pdf-check: $name.pdf: does not declare PDF/A-2" >&2; fail=1; }
  echo "pdf-check: $name.pdf: $(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ {print $2}') pages, $(printf '%s\n' "$fonts" | grep -c .) fonts embedded, text as golden"
done
exit $fail
