"""The first two gates: a hardened XML parse and the BPMN 2.0 schema.

1. a hardened lxml parse: no DTD, no entities, no network, a size and depth cap;
2. the BPMN 2.0 XSD (with SpiffWorkflow's extension schema).

The file is first decoded as its byte order mark or XML declaration says (UTF-8, UTF-16 and
UTF-32 of either byte order, ASCII, Latin-1; any other encoding is refused), so that the DTD
check reads the same characters whatever the encoding, and lxml is then given the text in
UTF-8: what it parses is exactly what was checked. After the parse, a document type found in
the tree is refused too.

Also the readers of what Himaya keeps in a BPMN file: extension properties and lanes.
"""
from __future__ import annotations

import codecs
import re

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from ..errors import DefinitionInvalid, DefinitionTooLarge
from .model import Problem

MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


_DTD_REFUSED = "DTDs and entity declarations are not allowed in BPMN files"
# Byte order marks, longest first (UTF-32 LE starts as UTF-16 LE does).
_BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                     (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
# Without a mark, how "<?" begins in each wide encoding (XML 1.0, appendix F).
_WIDE_BEGINNINGS = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
                    (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))
_WIDE = frozenset({"utf-16", "utf-16-be", "utf-16-le", "utf-32", "utf-32-be", "utf-32-le"})
_READABLE = _WIDE | {"utf-8", "ascii", "iso8859-1"}  # codec names: iso8859-1 is Latin-1
_DECLARED_ENCODING = re.compile(r"""^(\ufeff?<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])([^"']*)\2""")


def _rejected(message: str) -> DefinitionInvalid:
    return DefinitionInvalid("BPMN rejected", [Problem(message).as_dict()])


def _codec(name: str) -> str | None:
    """The codec's canonical name, or None when Python knows no such encoding."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _declared_encoding(text: str) -> str | None:
    match = _DECLARED_ENCODING.match(text)
    return match.group(3) if match else None


def _encoding_of(data: bytes) -> tuple[str, int]:
    """The encoding of an XML file and the length of its byte order mark (0 without one)."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return encoding, len(mark)
    for beginning, encoding in _WIDE_BEGINNINGS:
        if data.startswith(beginning):
            return encoding, 0
    declared = _declared_encoding(data[:256].decode("latin-1"))
    if declared is None:
        return "utf-8", 0
    codec = _codec(declared)
    if codec not in _READABLE:
        raise _rejected(f"the file's encoding '{declared[:40]}' is not supported: save it as UTF-8")
    if codec in _WIDE:
        raise _rejected(f"the XML declaration says {declared[:40]} but the file is not written in it")
    return codec, 0


def document_text(data: bytes | str) -> str:
    """The BPMN document as text, decoded as its byte order mark or XML declaration says.

    A declaration that names another encoding than UTF-8 is rewritten to name UTF-8, the
    encoding the text is parsed, stored and served in; a UTF-8 file's text is left as it is.
    """
    if isinstance(data, bytes):
        encoding, mark = _encoding_of(data)
        body = data if encoding == "utf-8" else data[mark:]  # a UTF-8 file keeps its text as it was
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            raise _rejected(f"not well-formed XML: the file is not valid {encoding.upper()} text") from None
    else:
        text = data
    if "\x00" in text:  # never in XML; UTF-16 or UTF-32 read as if it were UTF-8
        raise _rejected("not well-formed XML: the file holds NUL characters (UTF-16 and UTF-32 need a byte order "
                        "mark or an XML declaration)")
    declared = _declared_encoding(text)
    if declared is not None and _codec(declared) != "utf-8":
        text = _DECLARED_ENCODING.sub(lambda m: f"{m.group(1)}{m.group(2)}UTF-8{m.group(2)}", text, count=1)
    return text


def _refuse_dtd(text: str) -> None:
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise _rejected(_DTD_REFUSED)


def _refuse_dtd_in_tree(root: etree._Element) -> None:
    """Whatever the text check missed: a document type the parser found is refused all the same."""
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise _rejected(_DTD_REFUSED)


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, remove_pis=True, collect_ids=False,
)


def parse_xml(data: bytes | str) -> etree._Element:
    """Parse BPMN XML safely, in whatever encoding it comes; raises DefinitionInvalid / DefinitionTooLarge."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_BPMN_BYTES:
        raise DefinitionTooLarge(f"BPMN file larger than {MAX_BPMN_BYTES // 1024} KB")
    text = document_text(data)
    _refuse_dtd(text)
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if hasattr(exc, "lineno") else None
        raise DefinitionInvalid("BPMN rejected", [
            Problem(f"not well-formed XML: {exc.msg}", None, line).as_dict()]) from None
    if root is None:
        raise DefinitionInvalid("BPMN rejected", [Problem("empty document").as_dict()])
    _refuse_dtd_in_tree(root)
    for element in root.iter():
        if isinstance(element, etree._Entity) or isinstance(element, etree._ProcessingInstruction):
            raise DefinitionInvalid("BPMN rejected", [
                Problem("entities are not allowed", None, element.sourceline).as_dict()])
    deepest = max((len(list(e.iterancestors())) for e in root.iter()), default=0)
    if deepest > MAX_DEPTH:
        raise DefinitionInvalid("BPMN rejected", [
            Problem(f"elements nested deeper than {MAX_DEPTH} levels").as_dict()])
    if root.tag != f"{{{NS['bpmn']}}}definitions":
        raise DefinitionInvalid("BPMN rejected", [
            Problem("the root element must be bpmn:definitions", None, root.sourceline).as_dict()])
    return root


def schema_problems(root: etree._Element) -> list[Problem]:
    """What the BPMN 2.0 XSD finds wrong with a parsed document (the first 20 errors)."""
    schema = VALIDATOR.validator
    document = etree.ElementTree(etree.fromstring(etree.tostring(root), parser=_PARSER))
    VALIDATOR.preprocess(document.getroot())
    if schema.validate(document):
        return []
    problems = []
    for error in list(schema.error_log)[:20]:
        problems.append(Problem(f"BPMN schema: {error.message}", None, error.line))
    return problems


def properties_of(element: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs of an element's extension elements."""
    found = {}
    path = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
    for prop in element.xpath(path, namespaces=NS):
        name = prop.get("name")
        if name:
            found[name] = prop.get("value", "")
    return found


def lanes_by_step(process: etree._Element) -> dict[str, str]:
    """The lane id of every flow node placed in a lane, by node id."""
    lanes = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = lane.get("id")
    return lanes
