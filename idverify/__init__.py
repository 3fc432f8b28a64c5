"""idverify: identity verification for consumer lending.

Importing this package does nothing; see ``idverify.app`` for the composition root.
"""

__version__ = "0.1.0"
