"""The one factory of Jinja environments: sandboxed, strict about unknown names (pure, no I/O).

Templates are edited by staff and filled with values from applications and mails, so every
environment is a ``SandboxedEnvironment`` (no access to Python internals from a placeholder) with
``StrictUndefined`` (a mistyped placeholder is an error, never an empty gap). Whether output is
escaped depends on what is rendered (Word XML, HTML mail, plain text, Markdown): the caller says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["sandboxed_environment"]

#: sources kept compiled by an environment with ``compile_once``; beyond it, all are dropped
_COMPILED_SOURCES = 64


class _CompiledOnce(SandboxedEnvironment):
    """Compiles each template source given as a string once (docxtpl compiles the same XML for
    every letter); sources are keyed by their full text, so an edited template compiles anew."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, jinja2.Template] = {}

    def from_string(self, source: str | jinja2.nodes.Template, globals: Any = None,
                    template_class: Any = None) -> jinja2.Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            if len(self._compiled) >= _COMPILED_SOURCES:
                self._compiled.clear()
            self._compiled[source] = super().from_string(source)
        return self._compiled[source]


class DigestLoader(jinja2.FileSystemLoader):
    """Jinja's file loader, but a template counts as changed when its bytes did, not its
    modification time: staff replace templates, and a copy within one clock tick or with an
    old time kept would otherwise stay unseen."""

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, _ = super().get_source(environment, template)
        digest = hashlib.sha256(source.encode(self.encoding)).digest()

        def uptodate() -> bool:
            try:
                return hashlib.sha256(Path(filename).read_bytes()).digest() == digest
            except OSError:
                return False

        return source, filename, uptodate


def sandboxed_environment(
    *,
    autoescape: bool | Callable[[str | None], bool],
    loader: jinja2.BaseLoader | None = None,
    keep_trailing_newline: bool = False,
    finalize: Callable[[Any], Any] | None = None,
    compile_once: bool = False,
) -> SandboxedEnvironment:
    """A sandboxed environment with ``StrictUndefined``; ``autoescape`` as Jinja takes it (a
    flag, or a function of the template name such as ``jinja2.select_autoescape``).

    ``compile_once``: ``from_string`` keeps what it compiled, for a caller that hands the same
    source over and over (docxtpl)."""
    kind = _CompiledOnce if compile_once else SandboxedEnvironment
    return kind(undefined=jinja2.StrictUndefined, autoescape=autoescape, loader=loader,
                keep_trailing_newline=keep_trailing_newline, finalize=finalize)
