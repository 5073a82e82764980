"""E-mail: IMAP mailbox, parsing of incoming mail, delivery failure reports, message building and
SMTP (adapter: network)."""
