"""The admin form editor in Chromium, in French and in Arabic: its palette offers only the components
the server accepts, its words are the page's, an Arabic label is written beside the French one and
the preview (the task page's own rendering) shows it right to left; saved, it comes back."""
from __future__ import annotations

import json

import pytest

from engine.forms import COMPONENT_TYPES
from tests.test_browser import browser, site  # noqa: F401  (the Chromium fixtures)

ARABIC_LABEL = "تاريخ زيارة التتبع"


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_form_editor_edits_an_arabic_label_and_previews_it_rtl(request, language):
    from tests.test_browser import ARTIFACTS, _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    page = _page(chromium, 1440)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    _login(page, live, "admin")
    page.goto(f"{live['url']}/language/{language}?next=/admin/forms/follow_up")
    page.wait_for_selector("#form-editor[data-ready=true]", timeout=20000)
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")

    offered = page.eval_on_selector_all(".fjs-palette-field", "els => els.map(e => e.dataset.fieldType)")
    assert sorted(offered) == sorted(COMPONENT_TYPES)  # no file picker, tag list, button, HTML, iframe…
    header = page.inner_text(".fjs-palette-header")
    assert header == {"fr": "Composants", "ar": "المكونات"}[language]
    assert page.evaluate("getComputedStyle(document.querySelector('.form-editor')).direction") == \
        ("rtl" if language == "ar" else "ltr")

    page.click(".fjs-editor-container .fjs-form-field-datetime")
    page.wait_for_selector("#label-dateLabel-ar")
    assert page.input_value("#label-dateLabel-fr") == "Date de la visite"
    assert page.get_attribute("#label-dateLabel-ar", "dir") == "rtl"
    page.fill("#label-dateLabel-ar", ARABIC_LABEL)
    page.click("[data-preview-lang=ar]")
    preview = page.locator("#form-preview .preview[lang=ar]")
    preview.wait_for()
    assert preview.get_attribute("dir") == "rtl"
    label = preview.locator("label", has_text=ARABIC_LABEL)
    assert label.count() == 1
    assert label.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert preview.locator("button").inner_text() == "إتمام هذه المرحلة"  # the task page's own words, in Arabic
    page.screenshot(path=str(ARTIFACTS / f"70-admin-form-editor-{language}.png"), full_page=True)

    page.click("#save-form")
    page.wait_for_selector("#form-result[data-state]")
    assert page.get_attribute("#form-result", "data-state") == "ok", page.inner_text("#form-result")
    page.reload()
    page.wait_for_selector("#form-editor[data-ready=true]", timeout=20000)
    schema = json.loads(page.get_attribute("#form-editor", "data-schema") or "{}")
    assert schema["i18n"]["ar"]["Date de la visite"] == ARABIC_LABEL
    assert not problems, problems
    page.context.close()


def test_the_preview_refuses_what_the_server_refuses(request):
    from tests.test_browser import _login, _page

    chromium, live = request.getfixturevalue("browser"), request.getfixturevalue("site")
    page = _page(chromium, 1280)
    _login(page, live, "admin")
    page.goto(f"{live['url']}/admin/forms/follow_up")
    page.wait_for_selector("#form-editor[data-ready=true]", timeout=20000)
    key = page.evaluate("""() => { const editor = window.himayaFormEditor;
        const field = editor.get('formFieldRegistry').getAll().find(f => f.type === 'textarea');
        editor.get('modeling').editFormField(field, 'validate', { ...field.validate, pattern: '(a)\\\\1' });
        return field.key; }""")  # a back-reference: RE2 cannot run it
    page.wait_for_selector("#form-preview[data-state=invalid]")
    assert "back-references" in page.inner_text("#form-preview") and key in page.inner_text("#form-preview")
    page.context.close()
