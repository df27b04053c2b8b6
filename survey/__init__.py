"""镇合意·惠企走访 domain package: storage, reference lists, accounts and the problem register.

Importable without Streamlit (tests/test_layers.py proves it).
"""
