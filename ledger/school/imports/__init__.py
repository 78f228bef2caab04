"""Data arriving from outside: the sector database's staff, students and assignments, and gradebook
sheets from the school-management software."""
