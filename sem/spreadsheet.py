"""Cells for CSV files that people open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before reading one of those) is run as a formula when the
file is opened: a story titled ``=HYPERLINK(...)`` would become a live link. Such cells
get a leading single quote (OWASP, "CSV Injection"); numbers stay numbers, so a negative
figure is still a figure.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [safe_cell(value) for value in row]
