"""The mail outbox drain and the transport settings."""
