"""Shipped configuration (settings, the OPD directory, the demo inventory) and its loader.

Nothing is read at import time: ``config.settings.load()`` is called by the engine's bootstrap.
"""
