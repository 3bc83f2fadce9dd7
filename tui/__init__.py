"""sensorscope's Textual monitor (built on core/)."""
