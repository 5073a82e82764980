"""The Kommunen-Netzwerk: the Gemeinsame Erklärung issued and returned, its rules, the roster."""
