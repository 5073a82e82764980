"""The case file (Akte): one case's documents and correspondence in time order, its export,
and the follow-ups (Wiedervorlagen) that remind when an expected answer does not come."""
