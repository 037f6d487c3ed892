"""The dashboard's playground: short-lived gateway keys issued to the signed-in user."""
