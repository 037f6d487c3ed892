"""The dashboard's chart data: usage over time split by model, provider, key or route."""
