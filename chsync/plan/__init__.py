"""Backfill plans: typed data (model.py), built from a scope and a strategy (build.py)."""

from .model import DayPlan, Plan, load_plan, save_plan

__all__ = ["DayPlan", "Plan", "load_plan", "save_plan"]
