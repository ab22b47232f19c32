"""Machine data from the plant floor: MQTT and OPC UA ingest into the plant database.

`contract` reads messages (the payload contract, docs/ingest.md); `pipeline` queues and stores
them in batches through `tools.machine_data.feed`; `mqtt` and `opcua` receive them; `runner` runs a
receiver and its batcher together; `stats` counts what happened.
"""
