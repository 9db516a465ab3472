"""The pages' scripts and style sheets: fingerprinted URLs, pre-compressed copies, cache headers.

A unit on a slow mobile connection should download the modeler's or the form editor's bundle
once, compressed, and never again until it changes. So:

- every asset has a **fingerprint**, the start of the SHA-256 of its bytes; the pages link to
  ``/assets/<kind>/<fingerprint>/<name>`` (:func:`asset_url`), which is cached for a year
  (``immutable``): a changed file has a new URL, an old URL is redirected to the current one;
- ``himaya assets`` (run by ``make install``, ``make run`` and ``make test``) writes a gzip copy
  of each asset under ``build/assets/``, named by its fingerprint, so a stale copy is never served;
  a browser that accepts gzip gets it (``Content-Encoding: gzip``, ``Vary: Accept-Encoding``),
  others — or when no copy was built — the file itself;
- the plain URLs (``/static/…``, ``/vendor/…``) keep working with an hour's cache.

Two kinds: ``static`` (Himaya's own files in ``api/static/``) and ``vendor`` (the npm packages'
files listed in :data:`VENDOR_FILES`, served from ``node_modules/``).
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from flask import Response, abort, redirect, request, send_file, url_for

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "api" / "static"
NODE_MODULES = ROOT / "node_modules"
COMPRESSED_DIR = ROOT / "build" / "assets"
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
KINDS = ("static", "vendor")
COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".map", ".txt")
YEAR = 365 * 24 * 3600
HOUR = 3600
FINGERPRINT_LENGTH = 16


def path_of(kind: str, name: str) -> Path | None:
    """The file of an asset, or None when there is no such asset (never a path outside its folder)."""
    if kind == "vendor":
        relative = VENDOR_FILES.get(name)
        return NODE_MODULES / relative if relative else None
    if kind != "static" or not name or name.startswith(".") or "/" in name or "\\" in name:
        return None
    path = STATIC_DIR / name
    return path if path.is_file() else None


_fingerprints: dict[tuple[str, int, int], str] = {}


def fingerprint(path: Path) -> str:
    """The start of the SHA-256 of the file's bytes (computed again when its size or time changes)."""
    status = path.stat()
    key = (str(path), status.st_mtime_ns, status.st_size)
    found = _fingerprints.get(key)
    if found is None:
        found = _fingerprints[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:FINGERPRINT_LENGTH]
    return found


def compressed_path(path: Path, digest: str) -> Path:
    return COMPRESSED_DIR / f"{digest}{path.suffix}.gz"


def asset_url(kind: str, name: str) -> str:
    """The fingerprinted URL of an asset (the plain one when its file is missing: it then 404s)."""
    path = path_of(kind, name)
    if path is None or not path.exists():
        return url_for("web.static", filename=name) if kind == "static" else url_for("web.vendor", name=name)
    return url_for("web.asset", kind=kind, digest=fingerprint(path), name=name)


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def send(kind: str, name: str, digest: str | None = None) -> Response:
    """The asset's bytes, gzip-compressed when the browser accepts it and a copy was built;
    a year's cache for a fingerprinted URL, an hour's for a plain one."""
    path = path_of(kind, name)
    if path is None or not path.exists():
        abort(404)
    current = fingerprint(path)
    if digest is not None and digest != current:  # a page cached with the old URL: send it to the new one
        response = redirect(url_for("web.asset", kind=kind, digest=current, name=name), code=302)
        response.headers["Cache-Control"] = "no-cache"
        return response  # type: ignore[return-value]
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    packed = compressed_path(path, current)
    if _accepts_gzip() and packed.exists():
        response = send_file(packed, mimetype=mimetype, conditional=True, etag=f"{current}-gzip")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(path, mimetype=mimetype, conditional=True, etag=current)
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = (f"public, max-age={YEAR}, immutable" if digest is not None
                                         else f"public, max-age={HOUR}")
    return response


@dataclass(frozen=True)
class Built:
    kind: str
    name: str
    size: int
    compressed: int | None  # None: not worth compressing (an image, a font)


def every_asset() -> list[tuple[str, str]]:
    names = sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file() and not p.name.startswith("."))
    return [("static", n) for n in names] + [("vendor", n) for n in sorted(VENDOR_FILES)]


class MissingAssets(Exception):
    """Some npm packages' files are missing (``npm ci`` not run)."""


def build(out: Path | None = None) -> list[Built]:
    """Write the gzip copy of every compressible asset (named by its fingerprint) and remove
    the copies of files that changed since; what was built, with sizes."""
    folder = out or COMPRESSED_DIR
    missing = [n for kind, n in every_asset() if kind == "vendor" and not (NODE_MODULES / VENDOR_FILES[n]).exists()]
    if missing:
        raise MissingAssets(", ".join(missing))
    folder.mkdir(parents=True, exist_ok=True)
    built, kept = [], set()
    for kind, name in every_asset():
        path = path_of(kind, name)
        assert path is not None, "every_asset lists existing assets"
        data = path.read_bytes()
        if path.suffix not in COMPRESSIBLE:
            built.append(Built(kind, name, len(data), None))
            continue
        target = folder / compressed_path(path, fingerprint(path)).name
        if not target.exists():
            temporary = target.with_suffix(target.suffix + f".{os.getpid()}.tmp")
            temporary.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
            temporary.replace(target)  # a server reading it never sees half a file
        kept.add(target.name)
        built.append(Built(kind, name, len(data), target.stat().st_size))
    for stale in folder.glob("*.gz"):
        if stale.name not in kept:
            stale.unlink()
    return built
