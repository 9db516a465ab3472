"""Static files sent small and cached for good (api/assets.py): pre-compressed by `himaya assets`,
chosen from Accept-Encoding, fingerprinted URLs cached a year, plain URLs a short while."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import pytest

from api import assets as assets_module
from api.assets import IMMUTABLE, SHORT, Assets
from api.cli import main

TEMPLATES = Path(__file__).resolve().parent.parent / "api" / "templates"
SCRIPT = "// a page's script\n" + "var himaya = 'حماية';\n" * 400


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "src").mkdir()
    script, style = tmp_path / "src" / "page.js", tmp_path / "src" / "form-js.css"
    script.write_text(SCRIPT, encoding="utf-8")
    style.write_text(".fjs { color: red; }\n" * 300, encoding="utf-8")
    return {"page.js": script, "vendor/form-js.css": style}


@pytest.fixture
def built(web, files, tmp_path: Path) -> Assets:
    registry = Assets(dict(files), build=tmp_path / "build")
    registry.build_all()
    registry.sources.update({**assets_module.default_sources(), **files})  # the pages' own files too, not built
    web.application.extensions["himaya_assets"] = registry
    return registry


def _url(web, name: str) -> str:
    with web.application.test_request_context():
        return assets_module.asset_url(name)


def test_the_encoding_follows_accept_encoding(web, built):
    url = _url(web, "page.js")
    assert re.fullmatch(r"/assets/page\.[0-9a-f]{12}\.js", url)
    plain = web.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.get_data(as_text=True) == SCRIPT and plain.mimetype == "text/javascript"
    gzipped = web.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzipped.get_data()).decode() == SCRIPT
    assert len(gzipped.get_data()) < len(SCRIPT.encode()) / 5
    squeezed = web.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert squeezed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(squeezed.get_data()).decode() == SCRIPT
    refused = web.get(url, headers={"Accept-Encoding": "br;q=0, gzip"})
    assert refused.headers["Content-Encoding"] == "gzip"
    for response in (plain, gzipped, squeezed):
        assert "Accept-Encoding" in response.headers["Vary"]
    assert "Content-Encoding" not in web.get(url).headers  # no Accept-Encoding: the file as it is


def test_fingerprinted_urls_are_immutable_and_plain_urls_short_lived(web, built):
    fingerprinted = web.get(_url(web, "vendor/form-js.css"), headers={"Accept-Encoding": "gzip"})
    assert fingerprinted.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert fingerprinted.mimetype == "text/css"
    plain_vendor = web.get("/vendor/form-js.css", headers={"Accept-Encoding": "gzip"})
    plain_static = web.get("/static/page.js")
    for response in (plain_vendor, plain_static):
        assert response.status_code == 200 and response.headers["Cache-Control"] == SHORT
    assert plain_vendor.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in plain_vendor.headers["Vary"]
    assert web.get("/assets/nothing.0123456789ab.js").status_code == 404
    assert web.get("/assets/page.js").status_code == 404
    assert web.get("/static/nothing.js").status_code == 404


def test_a_changed_file_gets_a_new_url(web, built, files):
    before = _url(web, "page.js")
    files["page.js"].write_text(SCRIPT + "var changed = true;\n", encoding="utf-8")
    after = _url(web, "page.js")
    assert after != before
    fresh = web.get(after, headers={"Accept-Encoding": "gzip"})
    assert fresh.headers["Cache-Control"] == IMMUTABLE
    assert "Content-Encoding" not in fresh.headers  # not rebuilt yet: the plain file, never the old copy
    assert fresh.get_data(as_text=True).endswith("var changed = true;\n")
    old = web.get(before)  # a page from before the change: today's file, not cached for a year
    assert old.status_code == 200 and old.headers["Cache-Control"] == SHORT
    built.build_all()
    assert _url(web, "page.js") == after
    assert web.get(after, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"


def test_a_missing_precompressed_file_falls_back(web, built):
    url = _url(web, "page.js")
    name = url.rsplit("/", 1)[1]
    (built.build / (name + ".br")).unlink()
    assert web.get(url, headers={"Accept-Encoding": "br, gzip"}).headers["Content-Encoding"] == "gzip"
    (built.build / (name + ".gz")).unlink()
    response = web.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True) == SCRIPT and response.headers["Cache-Control"] == IMMUTABLE


def test_every_page_names_its_files_with_fingerprints(web):
    from tests.helpers import page_login

    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "web.static" not in text and "web.vendor" not in text, template.name
    page_login(web, "admin")
    html = web.get("/admin/forms/follow_up").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="(/(?:assets|static|vendor)/[^"]+)"', html)
    assert len(sources) >= 6
    for source in sources:
        assert re.fullmatch(r"/assets/[\w./-]+\.[0-9a-f]{12}\.(js|css)", source), source
        response = web.get(source, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE, source


def test_himaya_assets_builds_checks_and_says_what_is_missing(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(assets_module, "default_sources", lambda: dict(files))
    build = str(tmp_path / "out")
    assert main(["assets", "--check", "--build", build]) == 1  # nothing built yet
    assert "page.js: not built" in capsys.readouterr().out
    assert main(["assets", "--build", build]) == 0
    assert "2 file(s)" in capsys.readouterr().out
    assert sorted(p.name.rsplit(".", 3)[0] for p in (tmp_path / "out").rglob("*.gz")) == ["form-js", "page"]
    assert main(["assets", "--check", "--build", build]) == 0
    files["page.js"].write_text("var other = 1;\n", encoding="utf-8")
    assert main(["assets", "--check", "--build", build]) == 1
    assert main(["assets", "--build", build]) == 0
    assert len(list((tmp_path / "out").rglob("page.*.js.gz"))) == 1  # the old version's copies removed
    files["vendor/form-js.css"].unlink()
    assert main(["assets", "--build", build]) == 1
    assert "vendor/form-js.css" in capsys.readouterr().err
