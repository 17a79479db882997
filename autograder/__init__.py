"""Grading-time code: fixture submissions, feedback sanitising, the grading driver."""
