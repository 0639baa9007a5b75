"""The Flow Sprint Review: its writes (services.py) and reads (selectors.py)."""
