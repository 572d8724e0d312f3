"""Beyond one machine: KServe InferenceServices and Argo CD Applications rendered from
models.yaml and environments/, kept in Git under deploy/, validated offline, and read back."""
