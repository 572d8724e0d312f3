"""The data contract (schema) and the sample data generator."""
