"""A throw-away module for the registry test: installed only by ``plugin_settings`` and
plugged in solely through its own ``apps.py``."""
