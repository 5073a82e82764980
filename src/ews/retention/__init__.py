"""Data protection over the years: retention classes, the deletion flow and its log, legal
holds, and a person's access and erasure requests (DSGVO Art. 5(1)(e), 15, 17)."""
