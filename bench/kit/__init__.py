"""What the harnesses share (bench/__init__.py lists them)."""
