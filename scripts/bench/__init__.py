"""``make bench`` (``python -m scripts.bench``): the service measured on this machine —
throughput, PDF/A, mail, circulars, the distributed setup, the hostile corpus, memory."""
