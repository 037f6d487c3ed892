"""How each of an org's providers stands: last validation, published models, live health."""
