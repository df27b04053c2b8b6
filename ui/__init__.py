"""Reusable Streamlit pieces shared by the pages (session, navigation, style, messages)."""
