"""The control plane's governance API: limits, budgets, alert rules and webhooks,
notifications and notification preferences."""
