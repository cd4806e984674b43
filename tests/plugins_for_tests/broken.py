# A plugin whose import fails, as a half-installed third-party plugin would.
raise ImportError("No module named 'leftover_dependency'")
