"""The office's German web interface: sign-in, the round, the cases, selection and outbox in a
browser; it changes the register only through the functions the CLI calls."""
