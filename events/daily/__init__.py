"""The Daily Scrum: its board, notes and timer (events/daily_views.py)."""
