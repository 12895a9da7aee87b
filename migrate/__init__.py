"""Convert legacy policy-store checkpoints to the simple_ckpt layout, without the legacy code."""
