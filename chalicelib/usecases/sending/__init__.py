"""The outbound sender, one module per step (batch.py tells the whole path)."""
