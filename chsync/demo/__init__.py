"""The demo: seed-shaped data (generate.py, shape.py) and the story told on it (story.py)."""
