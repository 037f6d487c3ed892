"""First-run onboarding: where an org stands on the way to its first call through the gateway."""
