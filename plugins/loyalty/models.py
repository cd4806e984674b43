"""Tables of the loyalty plugin (none yet: segments are computed, see DOMAIN.md §3)."""
