"""Bytes a browser downloads for the modeler and the form editor, with and without compression.

Builds the app on a new SQLite file with the demo data (as ``make run``), signs the administrator
in on the pages, reads each page and every script and style sheet it links, once as a browser
that accepts gzip and once as one that does not, and sums the bytes of the bodies (HTML
included; HTTP headers left out). The gzip copies are those ``himaya assets`` writes.

Usage:  .venv/bin/python bench/assets_bench.py [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PAGES = {"modeler": "/admin/pathways/child_protection/versions/1/modeler",
         "form editor": "/admin/forms/reception_listening"}
LINKED = re.compile(r'(?:src|href)="(/(?:assets|vendor|static)/[^"]+)"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", default="", help="markdown file to write the section to")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="himaya-assets-bench-"))
    os.environ["HIMAYA_DATABASE_URL"] = f"sqlite:///{folder / 'himaya.sqlite'}"
    os.environ["HIMAYA_INSTANCE_PATH"] = str(folder / "instance")
    os.environ.setdefault("HIMAYA_DATA_KEY_FILE", str(folder / "data.key"))
    os.environ["HIMAYA_SCHEDULER"] = "off"

    from api import assets
    from api.app import create_app
    from api.cli import main as himaya

    if himaya(["demo"]) != 0 or himaya(["assets"]) != 0:
        return 1
    app = create_app({"SECRET_KEY": "assets-bench"})
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token, "the login page has its CSRF token"
    signed = client.post("/login", data={"username": "admin", "password": "demo-admin", "csrf_token": token.group(1)})
    assert signed.status_code == 302, signed.status_code

    rows = []
    for label, page in PAGES.items():
        sizes = {}
        for encoding in ("identity", "gzip"):
            headers = {"Accept-Encoding": encoding}
            html = client.get(page, headers=headers)
            assert html.status_code == 200, (page, html.status_code)
            total, files = len(html.data), 0
            for url in sorted(set(LINKED.findall(html.get_data(as_text=True)))):
                answer = client.get(url, headers=headers)
                assert answer.status_code == 200, (url, answer.status_code)
                total += len(answer.data)
                files += 1
            sizes[encoding] = (total, files)
        rows.append((label, page, sizes["identity"][1], sizes["identity"][0], sizes["gzip"][0]))
    lines = [
        "## Page weight: the modeler and the form editor (`python bench/assets_bench.py`)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Bodies of the page and every script and style sheet it links, "
        "as the administrator sees them (demo data); gzip copies written by `himaya assets` "
        f"(level 9, in `{assets.COMPRESSED_DIR.relative_to(ROOT)}/`), sent when the browser accepts gzip. "
        "Fingerprinted URLs are cached for a year, so a second visit downloads the page alone.",
        "",
        "| page | files | bytes without compression | bytes with gzip | saved |",
        "|---|---:|---:|---:|---:|",
        *(f"| {label} (`{page}`) | {files} | {plain:,} | {packed:,} | {1 - packed / plain:.0%} |"
          for label, page, files, plain, packed in rows),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        from report import write_section

        write_section(Path(args.write), "assets-bench", text)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
