"""Alerts (budget thresholds, error-rate spikes, latency) and their delivery: in-app
notifications, email over SMTP, signed webhooks; per-user preferences; a weekly digest."""
