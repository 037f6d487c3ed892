"""Rate limits (requests, tokens) and budgets per key, org and tier; memory and Redis backends."""
