"""What a draft would give before anything is numbered or sent: its recipients, the text of
its document and one recipient's mail, rendered by the code that issues and sends it (I/O:
reads the register, the contact file and the templates; writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from ews.circulars.contacts import read_contacts
from ews.circulars.distribution import Addressee, ListSpec, addressees
from ews.circulars.drafts import Draft, parse_draft
from ews.circulars.issuing import check_document, document_markdown
from ews.circulars.mailing import circular_mail, draft_letterhead, draft_values
from ews.circulars.text import markdown_html
from ews.core.errors import EwsError, error_problems
from ews.register.database import transaction
from ews.runtime.settings import Settings


@dataclass(frozen=True)
class MailPreview:
    kommune: str
    to: tuple[str, ...]
    subject: str
    text: str  # the plain-text part, as sent
    attachments: tuple[str, ...]


@dataclass(frozen=True)
class DraftPreview:
    """A draft's preview; with ``problems`` (German) nothing else is filled."""

    problems: list[str] = field(default_factory=list)
    title: str = ""
    document_html: str = ""  # the document's text as an HTML fragment (raw HTML escaped)
    recipients: list[Addressee] = field(default_factory=list)
    contact_problems: list[str] = field(default_factory=list)
    mail: MailPreview | None = None


def draft_recipients(settings: Settings, spec: ListSpec, address_to: str
                     ) -> tuple[list[Addressee], list[str]]:
    """Everyone on the distribution list (with or without an address) and the contact
    file's problems, as ``ews rundschreiben pruefen`` shows them."""
    contacts, problems = read_contacts(settings.rundschreiben.contacts_file)
    with transaction(settings.db_url) as session:
        return addressees(session, spec, contacts, address_to=address_to), problems


def preview_draft(settings: Settings, folder: Path, content: str, now: datetime,
                  ags: str | None = None) -> DraftPreview:
    """The preview of ``content`` as the draft in ``folder``: the document's text and the
    mail of the recipient ``ags`` (else the first with an address)."""
    try:
        draft = parse_draft(folder, content, settings.round.name)
        check_document(settings, draft, now)
        values = draft_values(settings, draft, now)
        people, contact_problems = draft_recipients(settings, draft.list_spec,
                                                    draft.address_to)
        reachable = [person for person in people if person.emails]
        person = next((p for p in reachable if p.ags == ags), reachable[0] if reachable
                      else None)
        return DraftPreview(
            title=str(values["titel"]),
            document_html=markdown_html(document_markdown(draft.text, values)),
            recipients=people, contact_problems=contact_problems,
            mail=mail_preview(settings, draft, values, person, now) if person else None)
    except EwsError as exc:
        return DraftPreview(problems=error_problems(exc))
    except jinja2.TemplateError as exc:
        return DraftPreview(problems=[f"Ein Platzhalter lässt sich nicht ausfüllen: {exc}."])


def mail_preview(settings: Settings, draft: Draft, values: dict[str, Any], person: Addressee,
                 now: datetime) -> MailPreview:
    """The mail ``person`` would get, built by ``circular_mail`` (without the files)."""
    message = circular_mail(settings, draft_letterhead(draft, values, ()),
                            kommune=person.kommune, salutation=person.salutation,
                            recipients=list(person.emails), key="vorschau", now=now)
    body = message.get_body(("plain",))
    return MailPreview(kommune=person.kommune, to=person.emails,
                       subject=str(message["Subject"]),
                       text=str(body.get_content()) if body is not None else "",
                       attachments=("Das Rundschreiben als PDF", *draft.attachments))
