"""The school-year model, as events: school years, the subject catalogue, classes, students and their
enrolments, staff, and assignments with validity periods (role × assignment × time).

Each command validates its input and compares it with the current state, appending only the events
that change something: importing the same data twice appends nothing.
"""
