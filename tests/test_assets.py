"""The pages' scripts and style sheets: fingerprinted URLs cached for a year, gzip copies built
by `himaya assets` and served to browsers that accept them, plain URLs kept, stale ones sent on.
Assets do not touch the database: these tests run once, on SQLite."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api import assets
from api.cli import main

pytestmark = pytest.mark.sqlite_only
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def packed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "assets"
    monkeypatch.setattr(assets, "COMPRESSED_DIR", folder)
    assets.build()
    return folder


def _linked(web: FlaskClient, page: str, name: str) -> str:
    html = web.get(page).get_data(as_text=True)
    found = re.search(rf'"(/assets/(static|vendor)/[0-9a-f]{{16}}/{re.escape(name)})"', html)
    assert found, f"{name} not linked by its fingerprint in {page}"
    return found.group(1)


def test_a_page_links_its_assets_by_fingerprint_and_gets_them_compressed_for_a_year(web: FlaskClient, packed):
    url = _linked(web, "/login", "himaya.css")
    answer = web.get(url, headers=GZIP)
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Vary"] == "Accept-Encoding" and answer.mimetype == "text/css"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert gzip.decompress(answer.data) == (assets.STATIC_DIR / "himaya.css").read_bytes()
    assert len(answer.data) < (assets.STATIC_DIR / "himaya.css").stat().st_size / 2


def test_a_browser_that_does_not_accept_gzip_gets_the_file_itself(web: FlaskClient, packed):
    url = _linked(web, "/login", "himaya.css")
    answer = web.get(url, headers={"Accept-Encoding": "identity"})
    assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
    assert answer.headers["Vary"] == "Accept-Encoding"
    assert answer.data == (assets.STATIC_DIR / "himaya.css").read_bytes()


def test_without_a_built_copy_the_file_itself_is_served(web: FlaskClient, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(assets, "COMPRESSED_DIR", tmp_path / "never-built")
    answer = web.get(_linked(web, "/login", "himaya.css"), headers=GZIP)
    assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
    assert answer.data == (assets.STATIC_DIR / "himaya.css").read_bytes()


def test_plain_urls_keep_working_with_a_short_cache_and_an_old_fingerprint_is_sent_on(web: FlaskClient, packed):
    plain = web.get("/vendor/htmx.min.js", headers=GZIP)
    assert plain.status_code == 200 and plain.headers["Content-Encoding"] == "gzip"
    assert plain.headers["Cache-Control"] == "public, max-age=3600"
    with web.application.test_request_context():
        current = assets.asset_url("vendor", "htmx.min.js")
    stale = web.get("/assets/vendor/0123456789abcdef/htmx.min.js")
    assert stale.status_code == 302 and stale.headers["Location"].endswith(current)
    assert stale.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/assets/other/0123456789abcdef/himaya.css", "/assets/static/0123456789abcdef/..",
                                  "/assets/vendor/0123456789abcdef/left-pad.js", "/vendor/../pyproject.toml"])
def test_what_is_not_an_asset_is_not_found(web: FlaskClient, path: str):
    assert web.get(path).status_code == 404


def test_a_changed_file_gets_a_new_url_and_its_old_copy_is_removed(web: FlaskClient, tmp_path: Path, monkeypatch):
    static = tmp_path / "static"
    static.mkdir()
    (static / "page.js").write_text("console.log('v1');\n" * 50)
    monkeypatch.setattr(assets, "STATIC_DIR", static)
    monkeypatch.setattr(assets, "COMPRESSED_DIR", tmp_path / "packed")
    with web.application.test_request_context():
        first = assets.asset_url("static", "page.js")
        assets.build()
        old_copy = assets.compressed_path(static / "page.js", assets.fingerprint(static / "page.js"))
        assert old_copy.exists()
        (static / "page.js").write_text("console.log('v2');\n" * 50)
        second = assets.asset_url("static", "page.js")
        assets.build()
    assert first != second and first.rsplit("/", 1)[1] == second.rsplit("/", 1)[1] == "page.js"
    assert not old_copy.exists(), "the first version's copy is gone"
    answer = web.get(second, headers=GZIP)
    assert gzip.decompress(answer.data).startswith(b"console.log('v2')")


def test_the_command_builds_the_copies_and_says_what_is_missing(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(assets, "COMPRESSED_DIR", tmp_path / "packed")
    assert main(["assets", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "form-editor.js" in out and "gzip" in out and any((tmp_path / "packed").glob("*.js.gz"))
    monkeypatch.setattr(assets, "NODE_MODULES", tmp_path / "no-node-modules")
    assert main(["assets"]) == 1
    assert "npm ci" in capsys.readouterr().err
