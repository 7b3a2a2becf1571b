"""Rendering of scope/verify/demo documents (Markdown today)."""
