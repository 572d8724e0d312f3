"""The one loader of each file format Git holds: contract.yaml, models.yaml, environments/*.yaml,
params.yaml, and the prediction log."""
