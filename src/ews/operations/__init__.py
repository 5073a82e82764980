"""Betrieb: the service's health as ``ews status`` reports it."""
