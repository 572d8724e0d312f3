"""The model artifact: skops files, its decision threshold, its versions as Git tags, its card, and
the DVC remote that holds it."""
