"""Bytes sent for the two heaviest admin pages, the BPMN modeler and the form editor: the page's
HTML plus every script and style it names, fetched as a browser would, without compression
(``Accept-Encoding: identity``), with gzip, and with brotli (the pre-compressed copies written by
``himaya assets``, built first if stale).

    .venv/bin/python bench/assets_bench.py [--write docs/benchmarks.md]

Writes the "assets-bench" section of docs/benchmarks.md. Runs in-process (Flask's test client,
a throwaway SQLite database with the demo data): the figures are response bodies, which is
what crosses a slow mobile link; headers add a few hundred bytes per file.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402

PAGES = (("BPMN modeler", "/admin/pathways/child_protection/versions/1/modeler"),
         ("Form editor", "/admin/forms/follow_up"))
ENCODINGS = (("none (identity)", "identity"), ("gzip", "gzip"), ("brotli", "br, gzip"))
LINKED = re.compile(r'(?:<script[^>]+src|<link[^>]+href)="(/(?:assets|static|vendor)/[^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="himaya-assets-"))
    os.environ.update({"HIMAYA_DATABASE_URL": f"sqlite:///{folder / 'himaya.sqlite'}",
                       "HIMAYA_INSTANCE_PATH": str(folder), "HIMAYA_SCHEDULER": "off"})
    from api.app import create_app
    from api.assets import Assets
    from api.cli import main as himaya
    from tests.helpers import page_login

    built = Assets()
    if built.stale():
        assert himaya(["assets"]) == 0
    assert himaya(["demo"]) == 0
    app = create_app({"TESTING": True})
    client = app.test_client()
    page_login(client, "admin")
    rows = []
    for title, path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data()
        files = LINKED.findall(html.decode())
        sizes = []
        for _label, accept in ENCODINGS:
            total = len(html)
            for url in files:
                response = client.get(url, headers={"Accept-Encoding": accept})
                assert response.status_code == 200, url
                total += len(response.get_data())
            sizes.append(total)
        rows.append((title, path, len(files), len(html), sizes))
        print(title, sizes)
    lines = ["## Static files: bytes sent for the admin pages (`python bench/assets_bench.py`)", "",
             "The page's HTML plus every script and style it names, as response bodies; compressed copies "
             "written by `himaya assets` (gzip level 9, brotli quality 11), chosen from `Accept-Encoding`. "
             "The fingerprinted URLs are then cached a year (`immutable`): a second visit sends only the HTML.", "",
             "| page | files | HTML | " + " | ".join(label for label, _ in ENCODINGS) + " | saved (brotli) |",
             "|---|---:|---:|" + "---:|" * len(ENCODINGS) + "---:|"]
    for title, path, count, html_size, sizes in rows:
        saved = 1 - sizes[-1] / sizes[0]
        lines.append(f"| {title} (`{path}`) | {count} | {html_size:,} B | "
                     + " | ".join(f"{size:,} B" for size in sizes) + f" | {saved:.0%} |")
    write_section(Path(args.write), "assets-bench", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
