"""Machine data from the plant floor: MQTT and OPC UA ingest into the plant database."""
