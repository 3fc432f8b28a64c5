"""Use cases: the only code that knows about several factors. Pure like the domain (standard library only);
they talk to the world through the domain's ports.

This package sits beside ``domain`` rather than inside it because the factor modules (``idverify.factors``)
depend on the domain, and the use cases depend on the factors.
"""
