"""The Jinja environment factory: sandboxed, strict, escaping as the caller says."""

from __future__ import annotations

import jinja2
import pytest
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ews.core.templating import sandboxed_environment


def test_environment_is_sandboxed() -> None:
    environment = sandboxed_environment(autoescape=False)
    assert isinstance(environment, SandboxedEnvironment)
    with pytest.raises(SecurityError):
        environment.from_string("{{ x.__class__.__mro__ }}").render(x="a")
    with pytest.raises(SecurityError):
        environment.from_string("{{ f.__globals__ }}").render(f=test_environment_is_sandboxed)


def test_unknown_names_and_attributes_are_errors_not_gaps() -> None:
    environment = sandboxed_environment(autoescape=False)
    with pytest.raises(jinja2.UndefinedError, match="'unser_zeichn' is undefined"):
        environment.from_string("Az. {{ unser_zeichn }}").render(unser_zeichen="1-1/2027")
    with pytest.raises(jinja2.UndefinedError):
        environment.from_string("{{ team.name }}").render(team={})


def test_autoescape_is_the_callers_choice() -> None:
    values = {"kommune": "Müller & Söhne <GmbH>"}
    escaped = sandboxed_environment(autoescape=True).from_string("{{ kommune }}").render(values)
    plain = sandboxed_environment(autoescape=False).from_string("{{ kommune }}").render(values)
    assert escaped == "Müller &amp; Söhne &lt;GmbH&gt;"
    assert plain == "Müller & Söhne <GmbH>"


def test_autoescape_by_template_name_with_a_loader() -> None:
    loader = jinja2.DictLoader({"a.html.j2": "{{ v }}", "a.txt.j2": "{{ v }}"})
    environment = sandboxed_environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False))
    assert environment.get_template("a.html.j2").render(v="<b>") == "&lt;b&gt;"
    assert environment.get_template("a.txt.j2").render(v="<b>") == "<b>"
    assert environment.from_string("{{ v }}").render(v="<b>") == "<b>"


def test_values_are_shown_literally_not_evaluated() -> None:
    environment = sandboxed_environment(autoescape=True)
    assert environment.from_string("{{ v }}").render(v="{{ 7*7 }}") == "{{ 7*7 }}"


def test_trailing_newline_and_finalize() -> None:
    kept = sandboxed_environment(autoescape=False, keep_trailing_newline=True)
    dropped = sandboxed_environment(autoescape=False)
    assert kept.from_string("Hallo\n").render() == "Hallo\n"
    assert dropped.from_string("Hallo\n").render() == "Hallo"
    shouting = sandboxed_environment(autoescape=False, finalize=lambda value: str(value).upper())
    assert shouting.from_string("a{{ v }}b").render(v="x") == "aXb"


def test_compile_once_reuses_the_template_of_the_same_source() -> None:
    environment = sandboxed_environment(autoescape=True, compile_once=True)
    first = environment.from_string("<w:t>{{ v }}</w:t>")
    assert environment.from_string("<w:t>{{ v }}</w:t>") is first
    assert environment.from_string("<w:t>{{ w }}</w:t>") is not first
    assert first.render(v="&") == "<w:t>&amp;</w:t>"
    with pytest.raises(jinja2.UndefinedError):
        first.render()


def test_without_compile_once_each_call_compiles() -> None:
    environment = sandboxed_environment(autoescape=True)
    assert environment.from_string("{{ v }}") is not environment.from_string("{{ v }}")


def test_compile_once_forgets_everything_beyond_its_limit() -> None:
    environment = sandboxed_environment(autoescape=False, compile_once=True)
    first = environment.from_string("0 {{ v }}")
    for number in range(1, 65):
        environment.from_string(f"{number} {{{{ v }}}}")
    assert environment.from_string("0 {{ v }}") is not first
