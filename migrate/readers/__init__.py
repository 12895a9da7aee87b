"""One reader per legacy container (torch zip pickle, torch.package archive, safetensors + YAML sidecar).

`detect` picks the reader for a file (spec §17 order); `interpret` turns an unpickled top-level object
into the result model. `migrate.read.read_legacy` is the entry point.
"""
