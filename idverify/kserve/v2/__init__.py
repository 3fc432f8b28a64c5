"""Generated from proto_kserve/ by scripts/gen_kserve_proto.py; do not edit."""
