"""Synthetic identity documents for tests and benchmarks. No real person's data: numbers use province-only
region codes (``xx0000``, never assigned to a person), passports the fictional state UTO, names are drawn from
common characters at random."""
