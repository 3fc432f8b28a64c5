"""The pure domain: values, errors, ports, policy and use cases. Standard library only."""
