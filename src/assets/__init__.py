"""The asset domain shared by the API and the worker: records, states, keys, storage."""
