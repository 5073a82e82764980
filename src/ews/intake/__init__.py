"""The Posteingang: inbox folder and mailbox become inputs, each input gets exactly one outcome
(registered, deficient, late, declaration, quarantined …) and its letters and answers."""
