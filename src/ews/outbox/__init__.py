"""The Postausgang: letters made PDF/A and filed, answers and notices queued in a transactional
outbox and sent by SMTP (uses register, letters and mail)."""
