"""Every message of the code has a French and an Arabic translation in the catalogues."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _code_messages() -> set[str]:
    messages = set()
    for method_map in ([("**.py", "python")], [("templates/**.html", "jinja2.ext:babel_extract")]):
        found = extract_from_dir(str(ROOT / "api"), method_map=method_map,
                                 keywords={"_": None, "_l": None, "N_": None, "gettext": None})
        messages |= {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}
    return messages


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_message_is_translated(language):
    with (ROOT / "api" / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(_code_messages() - translated)
    assert not missing, f"{len(missing)} message(s) without a '{language}' translation: {missing[:5]}"
