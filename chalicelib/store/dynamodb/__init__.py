"""The repositories in DynamoDB, over the PynamoDB items of store/models.py."""
