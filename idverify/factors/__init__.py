"""Factor rules, one module per factor. Standard library only."""
