"""Fakes for the outer edge only: stand-ins for programs that exist on the Mac mini but not here."""
