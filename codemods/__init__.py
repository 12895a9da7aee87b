"""libcst codemods that move code off the legacy policy store, and the check that nothing legacy remains."""
