"""Questionnaires as data: XLSForm files (survey/choices/settings sheets) loaded into a form model."""
