"""The Auswahl: decisions of a round (seats, waiting list, exceptions), the decision sheet round
trip, the register as XLSX, and the notices (Zusage, Absage, Warteliste)."""
