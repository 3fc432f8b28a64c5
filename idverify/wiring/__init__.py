"""Each area's wiring, called by the composition root (``idverify.app.build``) and nothing else."""
