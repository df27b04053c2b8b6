"""A static style adjustment for fingers on tablets (44 px touch targets). No user text goes here."""

from __future__ import annotations

import streamlit as st

TOUCH_CSS = """
<style>
/* Streamlit's inputs are 36-40 px tall; the touch guideline is 44 px. */
div[data-testid="stTextInput"] input,
div[data-testid="stNumberInput"] input,
div[data-testid="stDateInput"] input,
div[data-baseweb="select"] > div { min-height: 44px; }
button[kind], div[data-testid="stFormSubmitButton"] button { min-height: 44px; }
button[data-testid^="stNumberInputStep"] { min-height: 44px; min-width: 44px; }
/* Radio and checkbox options: a whole 44 px row is the target, not the 16 px circle. */
div[data-testid="stRadio"] label, div[data-testid="stCheckbox"] label { min-height: 44px; align-items: center; }
div[data-testid="stMetric"] { background: #f2f4f7; border-radius: 8px; padding: 8px 12px; }
</style>
"""


def apply() -> None:
    st.html(TOUCH_CSS)


PRINT_CSS = """
<style>
@media print {
  header, [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stSidebar"],
  [data-testid="stDownloadButton"], [data-testid="stSelectbox"], [data-testid="stElementToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"] { display: none !important; }
  [data-testid="stMainBlockContainer"], .block-container { padding: 0 !important; max-width: 100% !important; }
  [data-testid="stVegaLiteChart"], [data-testid="stMetric"], [data-testid="stDataFrame"] { break-inside: avoid; }
  @page { size: A4; margin: 12mm; }
}
</style>
"""


def printable() -> None:
    """A report page prints without navigation, pickers or buttons."""
    st.html(PRINT_CSS)
