"""The outbound sender, one module per step (batch.py tells the whole path)."""

from chalicelib.usecases.sending.batch import process_batch

__all__ = ["process_batch"]
