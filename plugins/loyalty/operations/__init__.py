"""Domain logic of the loyalty plugin: plain functions, no request object. One module per
subject — ``history`` (what each customer took part in, and its import), ``segments`` (the
models, the lifecycle stage, recompute) — re-exported here."""
from .history import (
    COLUMNS_HELP,
    HISTORY_COLUMNS,
    HistoryError,
    apply_history_rows,
    editions_of,
    participation,
    series_or_fail,
)
from .segments import (
    SETTINGS,
    STAGE_ACTIONS,
    LoyaltyError,
    compute,
    on_show_status_changed,
    recompute,
    settings_for,
    window_of,
)

__all__ = ["COLUMNS_HELP", "HISTORY_COLUMNS", "HistoryError", "apply_history_rows", "editions_of", "participation",
           "series_or_fail", "SETTINGS", "STAGE_ACTIONS", "LoyaltyError", "compute", "on_show_status_changed",
           "recompute", "settings_for", "window_of"]
from .lists import ORDERS, clean_filters, last_computed, segment_counts, segment_of, segment_page, segment_query  # noqa: E402

__all__ += ["ORDERS", "clean_filters", "last_computed", "segment_counts", "segment_of", "segment_page",
            "segment_query"]
