"""Promotion by merge, rollback by revert, audit by `git log`: the GitOps loop on models.yaml.

Layers as in gto: ``cli`` tidies arguments and calls one function of a module here
(``promote``, ``rollback``, ``check``, ``deploy``, ``status``, ``audit``, ``versions``); those
call the cores (``registry``, ``models_file``, ``environments``, ``gates``, ``gitops``,
``target``).
"""
