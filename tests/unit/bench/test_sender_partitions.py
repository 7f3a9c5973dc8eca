"""bench/sender/partitions.py: which DynamoDB partitions a call touches (the capacity study counts
the numbers table's pool partition with it)."""

from bench.sender.partitions import touched


def hash_key(table: str) -> str:
    return {"numbers": "pool", "messages": "message_id"}[table]


def key(pool: str, phone: str = "+14155550000") -> dict:
    return {"pool": {"S": pool}, "phone_number": {"S": phone}}


def test_a_single_item_write_counts_one_unit_on_its_partition_whatever_the_condition():
    kwargs = {"TableName": "numbers", "Key": key("main"), "ConditionExpression": "#0 = :0"}
    assert touched("UpdateItem", kwargs, hash_key) == [("write", "numbers", "main", 1)]
    assert touched("PutItem", {"TableName": "numbers", "Item": key("limits")}, hash_key) == [
        ("write", "numbers", "limits", 1)
    ]


def test_a_transaction_counts_two_units_per_item_a_condition_check_included():
    items = [
        {"Update": {"TableName": "numbers", "Key": key("usage#counted")}},
        {"ConditionCheck": {"TableName": "numbers", "Key": key("main")}},
        {"Put": {"TableName": "messages", "Item": {"message_id": {"S": "msg_1"}}}},
    ]
    assert touched("TransactWriteItems", {"TransactItems": items}, hash_key) == [
        ("write", "numbers", "usage#counted", 2),
        ("write", "numbers", "main", 2),
        ("write", "messages", "msg_1", 2),
    ]


def test_a_query_reads_the_partition_its_key_condition_names():
    kwargs = {
        "TableName": "numbers",
        "KeyConditionExpression": "#0 = :0 AND begins_with (#1, :1)",
        "ExpressionAttributeNames": {"#0": "pool", "#1": "phone_number"},
        "ExpressionAttributeValues": {":0": {"S": "main"}, ":1": {"S": "+1415"}},
    }
    assert touched("Query", kwargs, hash_key) == [("read", "numbers", "main", 1)]
    assert touched("Query", {**kwargs, "IndexName": "by_status"}, hash_key) == [("read", "numbers[by_status]", "?", 1)]


def test_batches_count_each_item():
    writes = {
        "RequestItems": {"numbers": [{"PutRequest": {"Item": key("main")}}, {"DeleteRequest": {"Key": key("x")}}]}
    }
    assert touched("BatchWriteItem", writes, hash_key) == [
        ("write", "numbers", "main", 1),
        ("write", "numbers", "x", 1),
    ]
    reads = {"RequestItems": {"numbers": {"Keys": [key("main"), key("main")]}}}
    assert touched("BatchGetItem", reads, hash_key) == [("read", "numbers", "main", 1)] * 2
