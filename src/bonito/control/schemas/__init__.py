"""Request and response shapes of the control-plane API."""
