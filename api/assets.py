"""The pages' static files (Himaya's own scripts and styles, and the npm bundles), sent small
and cached for good.

``himaya assets`` (run at install: ``make install``/``make run``/``make test``) writes, for every
file, a gzip and a brotli copy under ``build/assets/`` and a manifest of their content hashes.
Templates name a file with ``asset_url("admin-forms.js")`` or ``asset_url("vendor/form-editor.js")``,
which gives a *fingerprinted* URL, ``/assets/admin-forms.3f2a9c1d04be.js``: the content hash is in
the name, so the URL changes when the file does and the browser may keep it a year
(``Cache-Control: public, max-age=31536000, immutable``). The response's ``Content-Encoding`` is
chosen from the request's ``Accept-Encoding`` (brotli, then gzip, else the file as it is), always
with ``Vary: Accept-Encoding``; a pre-compressed copy that is missing or stale falls back to the
next one, down to the plain file. Without a build the URLs are still fingerprinted (the hash is
computed once per file version) and the files sent uncompressed.

The unfingerprinted URLs (``/static/<file>``, ``/vendor/<name>``) keep working with a short cache.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
from flask import Response, abort, current_app, request, send_file

ROOT = Path(__file__).resolve().parent.parent
STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = ROOT / "node_modules"
BUILD = ROOT / "build" / "assets"
MANIFEST = "manifest.json"
VENDOR_PREFIX = "vendor/"
HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".map", ".html", ".txt")
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first
# The npm bundles the pages use, by the name templates give them (vendor/<name>).
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "bpmn-navigated-viewer.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
    "bpmn-embedded.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css",
    "bpmn-modeler.js": "bpmn-js/dist/bpmn-modeler.production.min.js",
    "form-editor.js": "@bpmn-io/form-js/dist/form-editor.umd.js",
    "form-js.css": "@bpmn-io/form-js/dist/assets/form-js.css",
    "form-js-editor.css": "@bpmn-io/form-js/dist/assets/form-js-editor.css",
    "properties-panel.css": "@bpmn-io/form-js/dist/assets/properties-panel.css",
    "draggle.css": "@bpmn-io/form-js/dist/assets/draggle.css",
}
_FINGERPRINTED = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[A-Za-z0-9]+)$")


class AssetsError(Exception):
    """A file the pages need is missing or cannot be written (``himaya assets`` exits 1)."""


def default_sources() -> dict[str, Path]:
    """Every file a page may load, by its logical name."""
    sources = {path.name: path for path in sorted(STATIC.iterdir()) if path.is_file()}
    sources.update({VENDOR_PREFIX + name: NODE_MODULES / path for name, path in VENDOR_FILES.items()})
    return sources


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()[:HASH_LENGTH]


def fingerprinted_name(name: str, digest: str) -> str:
    """``vendor/form-editor.js`` → ``vendor/form-editor.<hash>.js``."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    base = f"{stem}.{digest}.{ext}" if dot else f"{base}.{digest}"
    return f"{folder}/{base}" if folder else base


@dataclass(frozen=True)
class _Version:
    size: int
    mtime_ns: int
    digest: str


@dataclass(frozen=True)
class BuildReport:
    files: int
    plain_bytes: int
    gzip_bytes: int
    brotli_bytes: int


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Assets:
    """The static files of the pages: their fingerprints, their compressed copies, their responses."""

    def __init__(self, sources: dict[str, Path] | None = None, build: Path = BUILD) -> None:
        self._sources = sources
        self.build = build
        self._versions: dict[str, _Version] = {}
        self._manifest: dict[str, Any] | None = None
        self._manifest_stamp: tuple[int, int] | None = None

    @property
    def sources(self) -> dict[str, Path]:
        if self._sources is None:
            self._sources = default_sources()
        return self._sources

    # -- building (himaya assets) --------------------------------------------------------------
    def build_all(self) -> BuildReport:
        """Hash and pre-compress every source; raises :class:`AssetsError` naming a missing file."""
        missing = [f"{name} ({path})" for name, path in self.sources.items() if not path.is_file()]
        if missing:
            raise AssetsError("missing file(s): " + ", ".join(missing)
                              + " — run `npm ci --ignore-scripts` for the npm bundles")
        manifest: dict[str, Any] = {}
        written: set[Path] = set()
        plain = gz = br = 0
        for name, path in sorted(self.sources.items()):
            data = path.read_bytes()
            stat = path.stat()
            digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
            entry: dict[str, Any] = {"hash": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            plain += len(data)
            if path.suffix in COMPRESSIBLE:
                sizes = {}
                for encoding, suffix in ENCODINGS:
                    target = self._encoded_path(name, digest, suffix)
                    written.add(target)
                    if not target.is_file():  # named by the content's hash: an existing copy is this one
                        _write_atomically(target, _compress(encoding, data))
                    sizes[encoding] = target.stat().st_size
                gz, br = gz + sizes["gzip"], br + sizes["br"]
                entry.update({"gzip": sizes["gzip"], "br": sizes["br"]})
            else:
                gz, br = gz + len(data), br + len(data)
            manifest[name] = entry
        _write_atomically(self.build / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        self._manifest = None
        for old in [*self.build.rglob("*.gz"), *self.build.rglob("*.br")]:
            if old not in written:  # the copies of files' earlier versions
                old.unlink(missing_ok=True)
        return BuildReport(len(manifest), plain, gz, br)

    def stale(self) -> list[str]:
        """The files whose compressed copies are missing or older than the file (empty: up to date)."""
        manifest = self._read_manifest()
        problems = []
        for name, path in sorted(self.sources.items()):
            if not path.is_file():
                problems.append(f"{name}: missing source {path}")
                continue
            digest = self.digest(name)
            entry = manifest.get(name)
            if entry is None or entry.get("hash") != digest:
                problems.append(f"{name}: not built for its current content")
            elif path.suffix in COMPRESSIBLE and not all(
                    self._encoded_path(name, digest, suffix).is_file() for _, suffix in ENCODINGS):
                problems.append(f"{name}: compressed copy missing")
        return problems

    # -- fingerprints ----------------------------------------------------------------------------
    def _read_manifest(self) -> dict[str, Any]:
        path = self.build / MANIFEST
        try:
            stat = path.stat()
        except OSError:
            self._manifest, self._manifest_stamp = {}, None
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._manifest is None or stamp != self._manifest_stamp:
            try:
                self._manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._manifest = {}
            self._manifest_stamp = stamp
        return self._manifest or {}

    def digest(self, name: str) -> str:
        """The content hash of the file as it is now (the build's, when it still matches the file)."""
        path = self.sources.get(name)
        if path is None:
            raise KeyError(name)
        stat = path.stat()
        known = self._versions.get(name)
        if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return known.digest
        entry = self._read_manifest().get(name) or {}
        if (entry.get("size"), entry.get("mtime_ns")) == (stat.st_size, stat.st_mtime_ns):
            digest = str(entry["hash"])
        else:
            digest = content_hash(path)
        self._versions[name] = _Version(stat.st_size, stat.st_mtime_ns, digest)
        return digest

    def url_path(self, name: str) -> str:
        """The fingerprinted file name under ``/assets/``; raises ``KeyError`` for an unknown file."""
        return fingerprinted_name(name, self.digest(name))

    def _encoded_path(self, name: str, digest: str, suffix: str) -> Path:
        target = self.build / fingerprinted_name(name, digest)
        return target.with_name(target.name + suffix)

    # -- serving ---------------------------------------------------------------------------------
    def respond(self, name: str, *, immutable: bool) -> Response:
        path = self.sources.get(name)
        if path is None or not path.is_file():
            abort(404)
        digest = self.digest(name)
        chosen: tuple[str, Path] | None = None
        if path.suffix in COMPRESSIBLE:
            accepted = request.accept_encodings
            for encoding, suffix in ENCODINGS:
                if accepted.quality(encoding) > 0:
                    candidate = self._encoded_path(name, digest, suffix)
                    if candidate.is_file():
                        chosen = (encoding, candidate)
                        break
        mimetype = _mimetype(path)
        if chosen is None:
            response = send_file(path, mimetype=mimetype, conditional=True, max_age=None)
        else:
            response = send_file(chosen[1], mimetype=mimetype, conditional=True, max_age=None)
            response.headers["Content-Encoding"] = chosen[0]
        response.headers["Cache-Control"] = IMMUTABLE if immutable else SHORT
        response.vary.add("Accept-Encoding")
        return response

    def respond_fingerprinted(self, filename: str) -> Response:
        """``/assets/<name>.<hash>.<ext>``: immutable when the hash is the file's current one; an
        old hash (a page from before an upgrade) gets today's file with a short cache."""
        matched = _FINGERPRINTED.match(filename)
        if matched is None:
            abort(404)
        name = matched["stem"] + matched["ext"]
        if name not in self.sources:
            abort(404)
        current = self.sources[name].is_file() and self.digest(name) == matched["hash"]
        return self.respond(name, immutable=current)


def _compress(encoding: str, data: bytes) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(data, quality=11))
    return gzip.compress(data, compresslevel=9, mtime=0)


def _mimetype(path: Path) -> str:
    if path.suffix == ".js":
        return "text/javascript; charset=utf-8"
    if path.suffix == ".css":
        return "text/css; charset=utf-8"
    import mimetypes

    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def assets() -> Assets:
    found: Assets = current_app.extensions["himaya_assets"]
    return found


def asset_url(name: str) -> str:
    """The fingerprinted URL of a page's static file: ``asset_url("vendor/form-editor.js")``."""
    from flask import url_for

    return url_for("web.asset", filename=assets().url_path(name))
