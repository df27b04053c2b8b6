"""A static style adjustment for fingers on tablets (44 px touch targets). No user text goes here."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# The tab's icon, served by our own server: Material Symbols' handshake drawn once (Pillow) from the
# font Streamlit bundles. A ":material/…:" page icon, in set_page_config or as the fallback from the
# current st.Page's icon, makes the browser fetch an SVG from fonts.gstatic.com (issue 26, item 14).
FAVICON = Path(__file__).with_name("favicon.png")

TOUCH_CSS = """
<style>
/* Streamlit's inputs are 36-40 px tall; the touch guideline is 44 px. */
div[data-testid="stTextInput"] input,
div[data-testid="stNumberInput"] input,
div[data-testid="stDateInput"] input,
div[data-baseweb="select"] > div { min-height: 44px; }
/* Streamlit 1.67's select boxes (40 px) and date field (36 px): the box is the role=group inside. */
div[data-testid="stSelectbox"] [role="group"], div[data-testid="stMultiSelect"] [role="group"],
div[data-testid="stDateInput"] [role="group"], div[data-testid="stDateInputField"],
div[data-testid="stTimeInput"] [role="group"] { min-height: 44px; }
/* Streamlit's uploader says "Upload" and "20MB per file" and lets no app change them: the same
   place shows Chinese instead (the limit itself is said beside each uploader, ui/uploads.py). */
section[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { font-size: 0; }
section[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "选择文件"; font-size: 1rem; }
div[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
div[data-testid="stFileUploaderDropzoneInstructions"] span::after { content: "或拖放到此处"; font-size: 0.875rem; }
/* The 16 px help icons of form fields: a 44 px target around the same icon (the margin keeps the
   layout). Not on metric cards, whose icons sit next to charts. */
[data-testid="stWidgetLabel"] span[data-testid="stTooltipHoverTarget"] > button {
  min-height: 44px; min-width: 44px; margin: -14px; }
/* Where the sidebar opens over the page (phones and tablets, to 768 px): 44 px entries. */
@media (max-width: 768px) { a[data-testid="stSidebarNavLink"] { min-height: 44px; } }
/* Beside the page (a laptop, 1366x768): entries 28 px apart instead of 34 and tighter section
   headers, so a supervisor's whole menu, 管理 included, fits without a scroll. Each entry and
   each header (it folds its section) stays a target of at least 24 px (WCAG 2.5.8). */
@media (min-width: 769px) {
  [data-testid="stSidebarNavItems"] li, a[data-testid="stSidebarNavLink"] { margin-top: 0; margin-bottom: 0; }
  [data-testid="stNavSectionHeader"] { min-height: 24px; margin-top: 4px; margin-bottom: 0; }
}
/* The phone's menu button is an unlabeled ">>": name it. */
button[data-testid="stExpandSidebarButton"]::after { content: "菜单"; font-size: 0.95rem; margin-left: 4px; }
button[kind], div[data-testid="stFormSubmitButton"] button { min-height: 44px; }
button[data-testid^="stNumberInputStep"] { min-height: 44px; min-width: 44px; }
/* Radio and checkbox options: a whole 44 px row is the target, not the 16 px circle. */
div[data-testid="stRadio"] label, div[data-testid="stCheckbox"] label { min-height: 44px; align-items: center; }
div[data-testid="stMetric"] { background: #f2f4f7; border-radius: 8px; padding: 8px 12px; }
/* Small buttons inside a field (issue 28, item 3): the sign-in password's show/hide eye (32x16),
   a filled select's clear × (24 px wide) and its open arrow: each a 44x44 target, the icon centred. */
div[data-testid="stTextInput"] button, div[data-testid="stSelectbox"] [role="group"] button,
div[data-testid="stMultiSelect"] [role="group"] > button,
button[data-testid="stDateInputCalendarButton"], button[data-testid="stNumberInputClearButton"] {
  min-width: 44px; min-height: 44px; justify-content: center; }
/* Streamlit's "Press Enter to submit form" / "to apply" under a focused field: English, and drawn
   over the field's right end beside the password's eye. */
[data-testid="InputInstructions"] { display: none; }
/* A date field's month and day (18x20 px each): 24x24 targets, WCAG 2.5.8's minimum. */
div[data-testid="stDateInput"] [role="spinbutton"] {
  display: inline-block; min-width: 24px; min-height: 24px; line-height: 24px; text-align: center; }
/* The 16 px "Link to heading" anchor beside each heading: a target too small, labelled in English,
   and of no use here (a page's address is its link). */
[data-testid="stHeaderActionElements"] { display: none; }
/* Captions: Streamlit draws them in the theme's textColor faded to 60 % (#777c83 on white, 4.2:1),
   under WCAG 2.1 AA's 4.5:1 (with a custom theme it is faded by opacity 0.6 instead); Streamlit
   1.67's theme has no caption colour, so this is the one rule: #5f6670 is 5.8:1 on white and
   5.3:1 on the grey of cards and the sidebar (issue 28, item 2). */
div[data-testid="stCaptionContainer"], div[data-testid="stCaptionContainer"] p {
  color: #5f6670; opacity: 1; }
</style>
"""


# On a narrow screen the navigation is a sidebar over the page, and Streamlit leaves it open after a
# page is chosen (one more tap for every move). Close it after a choice. Static: no user text.
# Streamlit 1.67 draws the navigation's sections as <div>s (a header and the <li>s) directly in its
# <ul>, which a screen reader cannot read as lists (axe's "list" and "listitem", serious): the <ul>
# is marked role=none and each section a list named by its header, again after every redraw; the
# English names Streamlit gives its own controls ("Help for …", "Clear value") become Chinese the
# same way. Keep anything that looks like a tag out of the script, comments included: with one,
# Streamlit did not run it at all.
CLOSE_NAV_SCRIPT = """
<script>
if (!window.__zhyNavCloser) {
  window.__zhyNavCloser = true;
  const nameSections = () => {
    for (const ul of document.querySelectorAll('ul[data-testid="stSidebarNavItems"]')) {
      if (ul.getAttribute("role") !== "none") ul.setAttribute("role", "none");
      for (const section of ul.children) {
        if (section.tagName !== "DIV" || section.getAttribute("role") === "list") continue;
        section.setAttribute("role", "list");
        const name = section.querySelector('[data-testid="stNavSectionHeader"] p');
        if (name) section.setAttribute("aria-label", name.textContent);
      }
    }
  };
  // Streamlit's own controls are named in English by its frontend, which no app setting changes
  // ("Help for " and a field's label, "Clear value", "Show password", "Open", "Remove " and a chosen
  // option...), and a multiselect offers "Select all" / "Select 3 matches": Chinese instead.
  const NAMES = {
    "Help": "说明", "Clear value": "清除", "Clear all": "全部清除", "Open": "展开选项",
    "Close": "关闭", "Dismiss": "关闭", "Show password": "显示明文", "Hide password": "隐藏明文",
    "Selected values": "已选项", "Sidebar": "侧栏", "App pages": "页面", "Collapse sidebar": "收起菜单",
    "Expand sidebar": "展开菜单", "Show/hide columns": "显示或隐藏列", "Download as CSV": "下载为 CSV",
    "Search": "查找表格内容", "Fullscreen": "全屏", "Close fullscreen": "退出全屏", "Link to heading": "本节链接"};
  const chinese = (said) => NAMES[said]
    ?? (said.startsWith("Help for ") ? `说明：${said.slice(9).trim()}` : null)
    ?? (said.startsWith("Remove ") ? `移除 ${said.slice(7)}` : null);
  const nameControls = () => {
    for (const element of document.querySelectorAll("[aria-label]")) {
      const name = chinese(element.getAttribute("aria-label"));
      if (name) element.setAttribute("aria-label", name);
    }
    // the text node itself, which the frontend keeps and updates (a new node would go stale)
    for (const item of document.querySelectorAll('[role="option"][data-key^="__select_"] [data-item-hl]')) {
      const text = item.firstChild;
      if (!text || text.nodeType !== Node.TEXT_NODE) continue;
      const matches = text.nodeValue.match(/^Select ([0-9]+) matches?$/);
      if (matches) text.nodeValue = `全选 ${matches[1]} 个匹配项`;
      else if (text.nodeValue === "Select all") text.nodeValue = "全选";
    }
  };
  const redraw = () => { nameSections(); nameControls(); };
  redraw();
  new MutationObserver(redraw).observe(document.body, {
    childList: true, subtree: true, characterData: true, attributes: true,
    attributeFilter: ["aria-label"]});
  document.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]');
    if (!link || window.innerWidth > 768) return;  // Streamlit overlays it up to 768 px
    setTimeout(() => {
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close) close.click();
    }, 150);
  }, true);
}
</script>
"""


def apply() -> None:
    st.html(TOUCH_CSS)
    st.html(CLOSE_NAV_SCRIPT, unsafe_allow_javascript=True)


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
