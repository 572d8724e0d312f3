"""Quality gates and the live model (champion) a candidate is compared with."""
