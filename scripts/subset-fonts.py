#!/usr/bin/env python3
"""Makes the fonts the PDF reports embed: Noto Sans CJK SC (Regular, Bold) from Debian's
fonts-noto-cjk, cut down to the characters a report can hold — GB 2312 (every character of
everyday simplified Chinese), Latin with its supplements, Greek, punctuation, arrows, maths
and shapes, and every character the project's own words use (catalogue, locales, code).

Needs fonttools (`pip install fonttools`). Run from the repository: scripts/subset-fonts.py
"""
import pathlib
import subprocess

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-{}.ttc"
SC = "2"  # the collection's Simplified Chinese face
OUT = pathlib.Path("crates/report-pdf/fonts")

chars = set()
for b1 in range(0xA1, 0xF8):
    for b2 in range(0xA1, 0xFF):
        try:
            chars.add(bytes([b1, b2]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
for lo, hi in [(0x20, 0x7F), (0xA0, 0x250), (0x370, 0x3D0), (0x2000, 0x2070),
               (0x20A0, 0x20C0), (0x2100, 0x2300), (0x25A0, 0x2600), (0x3000, 0x3040),
               (0xFF00, 0xFFF0)]:
    chars |= {chr(c) for c in range(lo, hi)}
for pattern in ["catalogue/**/*.toml", "locales/**/*.ftl", "crates/**/*.rs",
                "crates/**/*.html", "examples/**/*.toml"]:
    for path in pathlib.Path(".").glob(pattern):
        chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) > 0x7F}

text = OUT / "characters.txt"
text.write_text("".join(sorted(chars)), encoding="utf-8")
for weight in ["Regular", "Bold"]:
    subprocess.run(["pyftsubset", SOURCE.format(weight), f"--font-number={SC}",
                    f"--text-file={text}", "--no-hinting", "--name-IDs=*",
                    f"--output-file={OUT}/NotoSansSC-{weight}-subset.otf"], check=True)
print(f"{len(chars)} characters")
