"""A circular's Markdown as the HTML and plain-text parts of its mail and as Word paragraphs,
and values from outside (a salutation from a form or the contact list) filled in as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from docx import Document

from ews.circulars.document import add_markdown
from ews.circulars.drafts import compiled_text, fill_plain, fill_text
from ews.circulars.mailing import Letterhead, circular_mail
from ews.circulars.text import markdown_html, markdown_literal, markdown_plain
from ews.runtime.settings import Settings

HOSTILE = "<script>alert(1)</script> & <w:t>x</w:t> {{ 7*7 }} {% if x %}"
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
#: salutations as a form or a contact list may carry them; each must show as written
MARKUP_VALUES = [
    "Frau [x](http://evil.example)",
    "Herr **bold** _kursiv_",
    '<a href="http://evil.example">Frau Muster</a>',
    "Herr `code` ``zwei``",
    "# Überschrift",
    "Frau Muster\n- Liste\n\n1. Punkt",
    "![Bild](http://evil.example/pixel.png)",
    "Frau <http://evil.example> <ews@evil.example>",
    "Herr https://evil.example/pfad www.evil.example",
    "Frau &amp; &#60;b&#62; \\*",
    "| a | b |",
    "    eingerückt",
    "> Zitat",
]


def test_html_is_a_fragment_with_headings_and_emphasis() -> None:
    html = markdown_html("# Termine\n\n## Im Mai\n\nDas ist **wichtig** und *neu*.")

    assert html == (
        "<h1>Termine</h1>\n<h2>Im Mai</h2>\n"
        "<p>Das ist <strong>wichtig</strong> und <em>neu</em>.</p>\n"
    )


def test_html_keeps_raw_html_and_template_syntax_as_text() -> None:
    html = markdown_html(HOSTILE)

    assert "<script>" not in html and "<w:t>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;w:t&gt;x&lt;/w:t&gt;" in html
    assert "{{ 7*7 }} {% if x %}" in html


def test_html_links_only_web_and_mail_addresses() -> None:
    html = markdown_html(
        "[Programm](https://example.org/p?a=1&b=2), <info@example.org>, "
        "[böse](javascript:alert(1)), [Datei](file:///etc/passwd), [relativ](/intern)"
    )

    assert '<a href="https://example.org/p?a=1&amp;b=2">Programm</a>' in html
    assert '<a href="mailto:info@example.org">info@example.org</a>' in html
    assert html.count("<a ") == 2
    assert "[böse](javascript:alert(1))" in html
    assert "[Datei](file:///etc/passwd)" in html and "[relativ](/intern)" in html


def test_html_shows_an_image_as_a_link_to_it() -> None:
    html = markdown_html("![Lageplan](https://example.org/plan.png)")

    assert "<img" not in html
    assert '<a href="https://example.org/plan.png">Lageplan</a>' in html


def test_html_renders_tables_and_nested_lists() -> None:
    html = markdown_html("| Ort | Tag |\n|---|--:|\n| Hagen | 3 |\n\n- a\n  1. b\n")

    assert "<th>Ort</th>" in html and '<td style="text-align:right">3</td>' in html
    assert "<ul>\n<li>a\n<ol>\n<li>b</li>\n</ol>\n</li>\n</ul>" in html


def test_plain_headings_are_underlined_to_their_length() -> None:
    plain = markdown_plain("# Netzwerktreffen\n\n## Anmeldung\n\n### Kosten\n")

    assert plain == (
        "Netzwerktreffen\n===============\n\nAnmeldung\n---------\n\nKosten\n------\n"
    )


def test_plain_paragraphs_are_separated_by_one_blank_line() -> None:
    plain = markdown_plain("Erster Absatz.\n\n\n\nZweiter Absatz mit **fett**, *kursiv*, `code`.")

    assert plain == "Erster Absatz.\n\nZweiter Absatz mit fett, kursiv, code.\n"


def test_plain_keeps_hard_line_breaks() -> None:
    assert markdown_plain("Mit freundlichen Grüßen\\\nIhr Team") == (
        "Mit freundlichen Grüßen\nIhr Team\n"
    )


def test_plain_nested_lists_are_indented_under_their_item() -> None:
    plain = markdown_plain("- Auftakt\n  - Hagen\n  - Bonn\n- Abschluss\n\n3. drei\n4. vier\n")

    assert plain == (
        "– Auftakt\n  – Hagen\n  – Bonn\n– Abschluss\n\n3. drei\n4. vier\n"
    )


def test_plain_numbered_list_inside_bullets_is_aligned_with_the_text() -> None:
    plain = markdown_plain("1. Schritt eins\n   - Detail\n2. Schritt zwei\n")

    assert plain == "1. Schritt eins\n   – Detail\n2. Schritt zwei\n"


def test_plain_loose_list_keeps_blank_lines_between_items() -> None:
    plain = markdown_plain("- erster Punkt\n\n- zweiter Punkt\n\n  mit Erläuterung\n")

    assert plain == "– erster Punkt\n\n– zweiter Punkt\n\n  mit Erläuterung\n"


def test_plain_links_show_their_address_once() -> None:
    plain = markdown_plain(
        "[Programm](https://example.org/programm), <https://example.org>, "
        "[Büro](mailto:ews@example.org), <ews@example.org>"
    )

    assert plain == (
        "Programm (https://example.org/programm), https://example.org, "
        "Büro (ews@example.org), ews@example.org\n"
    )


def test_plain_javascript_link_stays_literal_text() -> None:
    assert markdown_plain("[Klick](javascript:alert(1))") == "[Klick](javascript:alert(1))\n"


def test_plain_table_rows_are_cells_joined_by_bars() -> None:
    plain = markdown_plain("| Ort | Datum |\n|---|---|\n| Hagen | 4. Mai |\n| **Bonn** | |\n")

    assert plain == "Ort | Datum\nHagen | 4. Mai\nBonn |\n"


def test_plain_blockquote_lines_are_prefixed() -> None:
    plain = markdown_plain("> Zitat\n> weiter\n>\n> zweiter Absatz\n\nDanach.")

    assert plain == "> Zitat\n> weiter\n>\n> zweiter Absatz\n\nDanach.\n"


def test_plain_keeps_raw_html_and_template_syntax_literally() -> None:
    assert markdown_plain(HOSTILE) == HOSTILE + "\n"


def test_plain_image_becomes_its_text_and_address() -> None:
    assert markdown_plain("![Plan](https://example.org/plan.png)") == (
        "Plan (https://example.org/plan.png)\n"
    )


# --- values from outside stay text ---------------------------------------------------------


def _shown(value: str) -> str:
    """How a value shows when it is text: one line, no surrounding spaces."""
    return " ".join(line.strip() for line in value.splitlines() if line.strip())


@pytest.mark.parametrize("value", MARKUP_VALUES)
def test_filled_in_value_shows_literally_in_text_and_html(value: str) -> None:
    markdown = fill_text("{{ anrede }},\n\nfür {{ kommune }} gilt:\n", {
        "anrede": value, "kommune": value})

    html = markdown_html(markdown)
    plain = markdown_plain(markdown)

    assert not re.search(r"<(a|img|h\d|ul|ol|li|code|pre|strong|em|blockquote|table)\b", html)
    assert html.count("<p>") == 2
    assert plain == f"{_shown(value)},\n\nfür {_shown(value)} gilt:\n"


@pytest.mark.parametrize("value", MARKUP_VALUES)
def test_filled_in_value_shows_literally_in_word(value: str) -> None:
    document = Document()
    add_markdown(document, fill_text("Liebe {{ anrede }}, hallo.\n", {"anrede": value}))

    [paragraph] = document.paragraphs
    assert paragraph.text == f"Liebe {_shown(value)}, hallo."
    assert paragraph.style is not None and paragraph.style.name == "Normal"
    assert not paragraph._p.xpath(".//w:hyperlink")


def test_escaped_value_keeps_the_staffs_own_markdown_working() -> None:
    markdown = fill_text("**Wichtig** für {{ kommune }}: [Programm](https://example.org)\n",
                         {"kommune": "Stadt **Hagen**"})

    assert markdown_html(markdown) == (
        "<p><strong>Wichtig</strong> für Stadt **Hagen**: "
        '<a href="https://example.org">Programm</a></p>\n')


def test_numbers_and_office_values_are_escaped_too() -> None:
    markdown = fill_text("{{ tage_bis_frist }} Tage; {{ buero.email }}\n",
                         {"tage_bis_frist": 12, "buero": {"email": "ews_buero@example.org"}})

    assert markdown == "12 Tage; ews\\_buero\\@example\\.org\n"
    assert markdown_plain(markdown) == "12 Tage; ews_buero@example.org\n"


def test_title_is_filled_as_plain_text() -> None:
    assert fill_plain("Monatsinfo {{ monat }} (Teil 2)", {"monat": "Mai 2027"}) == (
        "Monatsinfo Mai 2027 (Teil 2)")


def test_literal_is_one_line_without_surrounding_spaces() -> None:
    assert markdown_literal("  Frau\r\n\n  Muster  ") == "Frau Muster"
    assert markdown_literal("a.b") == "a\\.b"


def _mail(salutation: str, kommune: str) -> EmailMessage:
    settings = Settings(_env_file=None, templates_dir=TEMPLATES)  # type: ignore[call-arg]
    head = Letterhead(subject="Mitteilung 1/2027: Test", mitteilung="Mitteilung 1/2027",
                      body=compiled_text("für {{ kommune }} gilt: **fett**.\n"),
                      values={}, files=())
    return circular_mail(settings, head, kommune=kommune, salutation=salutation,
                         recipients=["team@example.org"], key="k",
                         now=datetime(2027, 5, 1, 9, tzinfo=UTC))


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize("value", MARKUP_VALUES)
def test_mail_shows_a_hostile_salutation_as_text(value: str) -> None:
    message = _mail(f"Guten Tag {value}", "Stadt Hagen")

    html, text = _part(message, "html"), _part(message, "plain")
    assert not re.search(r"""(href|src)=["'][^"']*evil""", html)  # the footer has its links
    assert not re.search(r"<(img|h\d|ul|ol|li|code|pre|em|blockquote|table)\b", html)
    assert html.count("<strong>") == 1  # the text's own **fett**
    assert f"{_shown(f'Guten Tag {value}')}," in text
    assert "für Stadt Hagen gilt: fett." in text
