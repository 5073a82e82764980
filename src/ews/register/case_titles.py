"""German words for the rows of a case: outbox purposes, how correspondence was
filed, follow-ups and decisions (pure data)."""

from __future__ import annotations

#: German words of the outbox's purposes (``outgoing_mails.purpose``)
PURPOSE_TITLES = {"antwort": "Antwort auf die Zusendung", "bescheid": "Bescheid per E-Mail",
                  "erinnerung": "Erinnerung (Wiedervorlage)",
                  "eingang": "Eingangsnachricht („Ihre Nachricht ist eingegangen“)"}
#: how a piece of correspondence was filed to its case (``correspondence.matched_by``)
MATCH_TITLES = {"antwort": "Antwort auf unsere E-Mail", "az": "Aktenzeichen im Betreff/Text",
                "qr": "QR-Code im PDF", "ordner": "Aktenordner im Posteingang",
                "keine": "noch nicht zugeordnet"}
#: what a follow-up waits for (``follow_ups.kind``)
FOLLOW_UP_TITLES = {"korrektur": "Berichtigter Bewerbungsbogen",
                    "freistellung": "Bestätigung der Freistellung",
                    "erklaerung": "Unterzeichnete Gemeinsame Erklärung",
                    "manuell": "Von Hand angelegt"}
DECISION_TITLES = {"angenommen": "angenommen", "warteliste": "Warteliste",
                   "abgelehnt": "abgelehnt", "zurueckgezogen": "zurückgezogen"}
#: German words of the journal's actions (``events.action``); others are shown as they are
EVENT_TITLES = {"antwort-zurueckgehalten": "Antwort zurückgehalten",
                "bescheid": "Bescheid geschrieben", "eingangsstempel": "Eingangsstempel erfasst",
                "entscheidung": "Entscheidung erfasst",
                "erklaerung-abgewiesen": "Gemeinsame Erklärung abgewiesen",
                "erklaerung-ausgestellt": "Gemeinsame Erklärung ausgestellt",
                "erklaerung-eingegangen": "Gemeinsame Erklärung eingegangen",
                "mail-fehlgeschlagen": "E-Mail nicht versandt",
                "netzwerk": "Netzwerk geändert", "unzustellbar": "E-Mail unzustellbar",
                "schriftverkehr-erledigt": "Schriftverkehr erledigt",
                "schriftverkehr-zugeordnet": "Schriftverkehr der Akte zugeordnet",
                "wiedervorlage-angelegt": "Wiedervorlage angelegt",
                "wiedervorlage-erledigt": "Wiedervorlage erledigt",
                "wiedervorlage-verlaengert": "Wiedervorlage verlängert",
                "wiedervorlage-erinnert": "Erinnerung zur Wiedervorlage versandt"}
