"""The admin form editor's words: form-js (the editor's npm bundle) has no translations of its
own, so the page hands it the words of its palette and properties panel in the page's language
(``static/admin-forms.js`` puts them in place of the English ones), the components it may
offer (:data:`engine.forms.COMPONENT_TYPES`, the same list the server accepts) and the
languages whose labels are edited side by side."""
from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from engine.forms import COMPONENT_TYPES, LANGUAGES, SOURCE_LANGUAGE, CompiledForm

from ..i18n import RTL_LANGUAGES
from ..messages import N_

# The English words of form-js's palette and properties panel that a Himaya form meets.
EDITOR_WORDS = (
    N_("Components"), N_("Search components"), N_("Clear content"), N_("No components found."),
    N_("Input"), N_("Selection"), N_("Presentation"), N_("Containers"),
    N_("Text field"), N_("Text area"), N_("Number"), N_("Date time"), N_("Checkbox"), N_("Checkbox group"),
    N_("Radio group"), N_("Select"), N_("Text view"), N_("Group"),
    N_("General"), N_("Field label"), N_("Field description"), N_("Key"), N_("Binds to a form variable"),
    N_("Default value"), N_("Condition"), N_("Hide if"), N_("Condition under which the field is hidden"),
    N_("Layout"), N_("Columns"), N_("Auto"), N_("Validation"), N_("Required"), N_("Minimum length"),
    N_("Maximum length"), N_("Minimum"), N_("Maximum"), N_("Custom properties"), N_("Options source"),
    N_("Static options"), N_("Static"), N_("Label"), N_("Value"), N_("Create"), N_("Create new list item"),
    N_("Delete item"), N_("Toggle list item"), N_("Toggle section"), N_("Section contains edits"),
    N_("Section contains an error"), N_("Learn more"), N_("Subtype"), N_("Date"), N_("Time"),
    N_("Date & Time"), N_("Date label"), N_("Time label"), N_("Disallow past dates"), N_("Disabled"),
    N_("Read only"), N_("Searchable"), N_("Checked"), N_("Not checked"), N_("Text"),
    N_("Supports markdown and templating."), N_("Open pop-up editor"), N_("Type"), N_("Form"),
    N_("Version tag"), N_("Appearance"), N_("Prefix"), N_("Suffix"), N_("Decimal digits"), N_("Increment"),
    N_("Serialize to string"), N_("Regular expression pattern"), N_("Validation pattern"), N_("Custom"),
    N_("Email"), N_("Phone"), N_("Custom regular expression"), N_("Show outline"), N_("Vertical alignment"),
    N_("Top"), N_("Center"), N_("Bottom"), N_("Drag and drop components here to start designing."),
    N_("Use the components palette on the left to add form fields."), N_("Select a form field to edit its properties."),
    N_("Click to set a dynamic value with FEEL expression"), N_("FEEL expression is mandatory"),
    N_("Use 24h"), N_("Time format"), N_("Time interval"), N_("Input data"), N_("Expression"),
    N_("Property"), N_("Entry"), N_("Constraints"), N_("Template"), N_("Number of rows"),
)


def editor_words() -> dict[str, Any]:
    """English → the page's language, and the patterns with a component's name in them."""
    return {
        "words": {word: _(word) for word in EDITOR_WORDS},
        "create": _("Add a field: %(component)s", component="{}"),
        "remove": _("Remove %(component)s", component="{}"),
        "count": _("%(count)s item(s)", count="{}"),
    }


def editor_config() -> dict[str, Any]:
    """What the page's script needs beside the form: palette, words, languages of the labels."""
    return {"components": list(COMPONENT_TYPES), "source": SOURCE_LANGUAGE, **editor_words(),
            "languages": [{"code": code, "name": name, "dir": "rtl" if code in RTL_LANGUAGES else "ltr"}
                          for code, name in zip(LANGUAGES, ("Français", "العربية", "English"), strict=True)]}


def preview(compiled: CompiledForm, language: str) -> str:
    """The form as the task page will render it in ``language`` (same macro, same direction)."""
    with force_locale(language):
        return render_template("admin/_form_preview.html", form=compiled.localized(language), lang=language,
                               direction="rtl" if language in RTL_LANGUAGES else "ltr")
