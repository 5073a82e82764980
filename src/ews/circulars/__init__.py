"""Rundschreiben: drafts, numbering and issuing, the document, distribution lists, scheduled
mailings and their send ledger."""
