"""Supabase stand-in for tests (placeholder docstring; see below)."""

from tests.supastack.stack import Supastack, start_supastack

__all__ = ["Supastack", "start_supastack"]
