"""tkksd engine: the service layer, its persistence and its edges (CLI, daemon).

Importing this package does nothing: every module is imported by the command that needs it,
so that `tkksd --help` stays cheap.
"""
