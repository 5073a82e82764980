"""A circular's Markdown as the HTML and plain-text parts of its mail."""

from __future__ import annotations

from ews.circular_text import markdown_html, markdown_plain

HOSTILE = "<script>alert(1)</script> & <w:t>x</w:t> {{ 7*7 }} {% if x %}"


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
