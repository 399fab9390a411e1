"""The benchmark harness behind ``./dev bench``: figures, side by side, into docs/performance.md.

Nothing here is a test: every scenario prints numbers and the report compares them with the
Redis ceiling measured in the same run and with upstream's reference figures (issue 6).
"""
