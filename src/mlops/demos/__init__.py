"""`make demo`: the whole GitOps loop, and its rollouts, in a sandbox."""
