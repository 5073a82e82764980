"""The service's shell: settings, folders and storage, filing without overwriting, the process
pool and contained child processes, redaction of secrets."""
