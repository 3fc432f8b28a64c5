"""Generated from proto/idverify/v1 by scripts/gen_proto.py; do not edit."""
