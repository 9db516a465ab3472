"""The pathway modeler in Chromium at 1440 px: the canvas takes the page's width and goes full
screen, the palette's "Himaya step" makes a user task the step panel edits, every palette entry
has a tooltip in the page's language, the check draws each problem on its element, the due-rule
picker writes the ``due`` property (screenshots 50-modeler-*.png in test-artifacts/, and
/tmp/shots-modeler/ when HIMAYA_SHOTS is set)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import ARTIFACTS, _login, browser, site  # noqa: F401  (fixtures)

MODELER = "/admin/pathways/child_protection/versions/1/modeler"
WIDTH = 1440


def _page(browser: Any, language: str = "fr") -> Any:  # noqa: F811
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="fr-FR")
    return context.new_page()


def _open(page: Any, site: dict[str, Any], language: str = "fr") -> None:  # noqa: F811
    _login(page, site, "admin")
    if language != "fr":
        page.goto(site["url"] + f"/language/{language}?next=/admin/pathways")
    page.goto(site["url"] + MODELER)
    page.wait_for_selector("#canvas[data-ready]", timeout=20000)
    assert page.get_attribute("#canvas", "data-ready") == "true"


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    folder = os.environ.get("HIMAYA_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _saved_xml(page: Any) -> str:
    return str(page.evaluate("() => window.himayaModeler.saveXML({format: true}).then(r => r.xml)"))


def _place_step_from_palette(page: Any) -> dict[str, Any]:
    """Click the palette's Himaya step and drop it in an empty spot of the first lane."""
    page.click(".djs-palette .entry[data-action='create.himaya-step']")
    spot = page.evaluate("""() => {
        const m = window.himayaModeler, reg = m.get('elementRegistry');
        const start = reg.filter(e => e.type === 'bpmn:StartEvent')[0];
        const gfx = reg.getGraphics(start).getBoundingClientRect();
        return {x: gfx.left + gfx.width / 2, y: gfx.bottom + 90};
    }""")
    page.mouse.move(spot["x"] - 10, spot["y"] - 10)
    page.mouse.move(spot["x"], spot["y"])
    page.mouse.click(spot["x"], spot["y"])
    page.keyboard.type("Nouvelle étape")
    page.mouse.click(5, 5)  # leave the label editing
    created = page.evaluate("""() => {
        const reg = window.himayaModeler.get('elementRegistry');
        const tasks = reg.filter(e => e.businessObject && e.businessObject.name === 'Nouvelle étape');
        return tasks.map(t => ({id: t.id, type: t.type}));
    }""")
    assert len(created) == 1, created
    return dict(created[0])


def test_the_canvas_takes_the_page_width_and_goes_full_screen(browser, site):  # noqa: F811
    page = _page(browser)
    _open(page, site)
    canvas = page.locator("#canvas").bounding_box()
    assert canvas and canvas["width"] >= 1000, canvas
    # the palette stands beside the diagram, never over it
    palette = page.locator(".djs-palette").bounding_box()
    shapes = page.evaluate("""() => {
        const reg = window.himayaModeler.get('elementRegistry');
        return reg.filter(e => !e.waypoints && e.type !== 'bpmn:Process' && e.type !== 'bpmn:Collaboration'
                                 && e.type !== 'label')
                  .map(e => reg.getGraphics(e).getBoundingClientRect().left);
    }""")
    assert palette and min(shapes) >= palette["x"] + palette["width"], (palette, min(shapes))
    page.click("#fullscreen")
    assert page.get_attribute("#fullscreen", "aria-pressed") == "true"
    full = page.locator("#canvas").bounding_box()
    assert full and full["width"] > canvas["width"] and full["height"] >= 800, full
    assert page.inner_text("#fullscreen") == "Quitter le plein écran"
    _shot(page, "54-modeler-full-screen-fr")
    # Esc first cancels a step being dragged from the palette, then leaves full screen
    page.click(".djs-palette .entry[data-action='create.himaya-step']")
    page.mouse.move(700, 500)
    page.keyboard.press("Escape")
    assert page.get_attribute("#fullscreen", "aria-pressed") == "true"
    page.keyboard.press("Escape")
    assert page.get_attribute("#fullscreen", "aria-pressed") == "false"


def test_every_palette_entry_has_a_tooltip_in_the_page_language(browser, site):  # noqa: F811
    for language, step_word in (("fr", "Étape Himaya"), ("ar", "خطوة حماية"), ("en", "Himaya step")):
        page = _page(browser)
        _open(page, site, language)
        titles = page.evaluate("() => [...document.querySelectorAll('.djs-palette .entry')]"
                               ".map(e => [e.dataset.action, e.getAttribute('aria-label')])")
        assert titles and all(title for _action, title in titles), titles
        by_action = dict(titles)
        assert step_word in by_action["create.himaya-step"]
        assert "create.task" not in by_action and "create.subprocess-expanded" not in by_action
        if language != "en":  # no English word of bpmn-js left
            assert not [t for _a, t in titles if re.match(r"^(Activate|Create) ", t)], titles
        # hovering an entry shows its tooltip
        page.hover(".djs-palette .entry[data-action='create.himaya-step']")
        tooltip = page.locator(".djs-palette-tooltip-label")
        tooltip.wait_for(timeout=5000)
        assert step_word in tooltip.inner_text()
        _shot(page, f"50-modeler-{language}")
        # the step panel in the page's language: role, sector and form by their labels
        page.evaluate("() => { const m = window.himayaModeler; "
                      "m.get('selection').select(m.get('elementRegistry').get('referral_health')); }")
        assert page.locator("#sector-field").is_visible()
        sector = page.locator("#prop-sector option:checked").inner_text()
        assert sector == {"fr": "Santé", "ar": "الصحة", "en": "Health"}[language], sector
        _shot(page, f"55-modeler-step-{language}")
        page.context.close()


def test_a_step_from_the_palette_is_a_user_task_with_the_step_panel(browser, site):  # noqa: F811
    page = _page(browser)
    _open(page, site)
    created = _place_step_from_palette(page)
    assert created["type"] == "bpmn:UserTask"
    # the new step is selected and its panel open, nothing else to do
    assert page.locator("#panel-form").is_visible() and page.input_value("#prop-id") == created["id"]
    assert page.input_value("#prop-name") == "Nouvelle étape"
    # a readable code instead of bpmn-js's random id; a bad or taken one is refused on the spot
    page.fill("#prop-id", "Médiation")
    page.dispatch_event("#prop-id", "change")
    assert page.locator("#prop-id-error").is_visible() and page.get_attribute("#prop-id", "aria-invalid") == "true"
    page.fill("#prop-id", "follow_up")
    page.dispatch_event("#prop-id", "change")
    assert "Un autre élément a déjà ce code." in page.inner_text("#prop-id-error")
    page.fill("#prop-id", "family_mediation")
    page.dispatch_event("#prop-id", "change")
    assert page.locator("#prop-id-error").is_hidden()
    xml = _saved_xml(page)
    assert '<bpmn:userTask id="family_mediation" name="Nouvelle étape"' in xml, re.findall(".*Nouvelle étape.*", xml)
    # labelled lists: the role, the partner's sector (shown for a partner only), the form
    assert page.locator("#prop-sector").is_hidden()
    page.select_option("#prop-role", "partner")
    assert page.locator("#prop-sector").is_visible()
    assert page.locator("#prop-sector option[value=health]").inner_text() == "Santé"
    page.select_option("#prop-sector", "health")
    assert "follow_up" not in page.locator("#prop-form option[value=follow_up]").inner_text()
    page.select_option("#prop-form", "referral_health")
    xml = _saved_xml(page)
    assert re.search(r'name="role" value="partner"', xml) and 'name="sector" value="health"' in xml
    assert 'name="form" value="referral_health"' in xml
    _shot(page, "51-modeler-new-step-fr")
    # its "change element" menu speaks French too
    page.evaluate("(id) => { const m = window.himayaModeler; "
                  "m.get('popupMenu').open(m.get('elementRegistry').get(id), 'bpmn-replace', {x: 400, y: 400}); }",
                  "family_mediation")
    menu = page.locator(".djs-popup").inner_text()
    assert "Tâche automatique (service)" in menu and "Service task" not in menu, menu
    assert "Script task" not in menu and "Call activity" not in menu, "only what a Himaya pathway runs"
    _shot(page, "56-modeler-change-element-fr")


@pytest.mark.parametrize("language, words", [("fr", "Aucune flèche ne mène à cet élément"),
                                             ("ar", "لا يؤدي أي سهم إلى هذا العنصر")])
def test_the_check_shows_an_unconnected_step_on_its_element(browser, site, language, words):  # noqa: F811
    page = _page(browser)
    _open(page, site, language)
    created = _place_step_from_palette(page)
    page.click("#check")
    page.wait_for_selector("#result[data-state=invalid]")
    note = page.locator(f".problem-note[data-element='{created['id']}']")
    assert note.is_visible()
    assert words in note.inner_text() and note.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    assert page.evaluate(f"document.querySelector('[data-element-id={created['id']}]').classList.contains('invalid')")
    # the note is drawn on the element: right above it in the canvas (its context pad opens on its right)
    shape = page.locator(f".djs-element[data-element-id='{created['id']}']").bounding_box()
    box = note.bounding_box()
    assert shape and box and abs(box["x"] - shape["x"]) < 30 and -4 <= shape["y"] - (box["y"] + box["height"]) < 30
    codes = page.evaluate(f"() => [...document.querySelectorAll('#problems li[data-element={created['id']}]')]"
                          ".map(li => li.dataset.code)")
    assert {"no_incoming", "no_outgoing", "role_missing", "form_missing"} <= set(codes), codes
    _shot(page, f"52-modeler-check-{language}")


def test_the_due_rule_picker_writes_the_due_property(browser, site):  # noqa: F811
    page = _page(browser)
    _open(page, site)
    page.evaluate("() => { const m = window.himayaModeler; "
                  "m.get('selection').select(m.get('elementRegistry').get('reception_listening')); }")
    # the stored rule high=PT24H;medium=P3D;low=P7D, shown as numbers and units
    assert not page.is_checked("#due-same")
    assert (page.input_value("#due-high-n"), page.input_value("#due-high-u")) == ("24", "H")
    assert (page.input_value("#due-medium-n"), page.input_value("#due-medium-u")) == ("3", "D")
    assert (page.input_value("#due-low-n"), page.input_value("#due-low-u")) == ("7", "D")
    page.fill("#due-high-n", "2")
    page.select_option("#due-high-u", "D")
    page.fill("#due-low-n", "10")
    page.dispatch_event("#due-low-n", "change")
    assert re.search(r'<spiffworkflow:property name="due" value="high=P2D;medium=P3D;low=P10D" />',
                     _saved_xml(page)), "the picker writes the property the engine reads"
    page.check("#due-same")
    assert page.locator(".due-row[data-level=all]").is_visible()
    assert page.locator(".due-row[data-level=low]").is_hidden()
    page.fill("#due-all-n", "36")
    page.select_option("#due-all-u", "H")
    assert 'name="due" value="PT36H"' in _saved_xml(page)
    _shot(page, "53-modeler-due-fr")
    # an undo (Ctrl+Z on the canvas) brings the rule back, and the picker shows it
    page.evaluate("() => document.activeElement.blur()")
    for _undo in range(4):  # back to the rule by risk level (the picker wrote a step or two on the way)
        page.evaluate("() => window.himayaModeler.get('commandStack').undo()")
        if 'name="due" value="high=P2D;medium=P3D;low=P10D"' in _saved_xml(page):
            break
    assert 'name="due" value="high=P2D;medium=P3D;low=P10D"' in _saved_xml(page)
    assert not page.is_checked("#due-same") and page.input_value("#due-low-n") == "10"
    # the diagram with the new rule is accepted as it is
    page.click("#check")
    page.wait_for_selector("#result[data-state]")
    assert page.get_attribute("#result", "data-state") == "ok", page.inner_text("#problems")


def test_a_problem_of_the_whole_process_is_shown_on_its_pool(browser, site):  # noqa: F811
    page = _page(browser)
    _open(page, site)
    pool = page.evaluate("""() => {
        const m = window.himayaModeler, reg = m.get('elementRegistry');
        m.get('modeling').removeElements([reg.filter(e => e.type === 'bpmn:StartEvent')[0]]);
        return reg.filter(e => e.type === 'bpmn:Participant')[0].id;
    }""")
    page.click("#check")
    page.wait_for_selector("#result[data-state=invalid]")
    note = page.locator(f".problem-note[data-element='{pool}']")
    assert note.is_visible() and "Le parcours n'a pas d'événement de début." in note.inner_text()
    assert page.locator("#problems li[data-code=no_start_event] button").count() == 1
