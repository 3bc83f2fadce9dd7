"""sensorscope's core: sources, parsing, imputation, detection, alerts, files. No UI here."""
