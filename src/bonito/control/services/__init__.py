"""Control-plane logic: each module owns one resource; every query is scoped by org."""
