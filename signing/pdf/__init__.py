"""The học bạ as PDF: rendering, PAdES signatures with their visible stamps, timestamps, verification."""
