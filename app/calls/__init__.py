"""Customer phone calls: each call's path and outcome, and the requests callers leave for staff."""
