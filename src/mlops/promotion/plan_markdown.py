"""The promotion plan as markdown: posted on the pull request by promote.yml, written by
`mlops check --out`."""

from __future__ import annotations

from mlops.promotion import audit
from mlops.promotion.plan import EnvPlan, Report
from mlops.quality import gates


def _metric_columns(plan: EnvPlan) -> list[tuple[str, dict]]:
    """Recorded metrics (each version on its own holdout), then the live version scored on
    each candidate's holdout where it was."""
    versions = ([plan.live] if plan.live else []) + [c for c in plan.candidates if c != plan.live]
    columns = [
        (f"{v.version}{' (live)' if v is plan.live else ''}", v.metadata.get("metrics", {}))
        for v in versions
    ]
    for candidate, live in plan.compared.items():
        if live.champion is not None and live.champion.scored:
            columns.append((f"{live.version} on {candidate}'s holdout", live.champion.metrics))
    return columns


def _metric_rows(plan: EnvPlan) -> list[str]:
    columns = _metric_columns(plan)
    if not columns:
        return []
    names = sorted({m for _, metrics in columns for m in metrics})
    rows = ["| metric | " + " | ".join(title for title, _ in columns) + " |"]
    rows.append("|---" * (len(columns) + 1) + "|")
    for name in names:
        cells = [metrics.get(name) for _, metrics in columns]
        rows.append(
            f"| {name} | " + " | ".join("-" if c is None else f"{c:.4f}" for c in cells) + " |"
        )
    return rows


def _gate_rows(plan: EnvPlan) -> list[str]:
    rows = []
    for version, results in plan.gates.items():
        rows += [
            f"\nGates for {version} in {plan.env}:\n",
            "| gate | metric | value | threshold | |",
            "|---|---|---|---|---|",
        ]
        for r in results:
            mark = "pass" if r.passed else ("would block (dry run)" if r.dry_run else "FAIL")
            rows.append(
                f"| {r.gate} | {r.metric} | {r.value} | {r.threshold} | {mark} {r.detail} |"
            )
        if version in plan.compared:
            live = plan.compared[version]
            rows.append(
                f"\n`max_regression` against {live.version} (live in {plan.env}): "
                f"{gates.compared_with(live)}."
            )
    return rows


def _policy_rows(report: Report) -> list[str]:
    rows = []
    if report.policy_changes:
        rows += [
            "",
            "### Policy change: needs its own review",
            "",
            f"This change edits promotion policy. It is judged by the policy at `{report.base}`; "
            "the new policy applies from the next change after it is merged "
            "(CODEOWNERS review `environments/`).",
            "",
        ]
        rows += [f"- {line}" for line in report.policy_changes]
    if report.history_problems:
        rows += ["", "### History that could not be read (not blocking)", ""]
        rows += [f"- {line}" for line in report.history_problems]
    return rows


def markdown(report: Report) -> str:
    changed = [p for p in report.plans if p.kind != "unchanged"]
    verdict = "all checks passed" if report.ok else f"{len(report.failures)} problem(s)"
    lines = [f"## Promotion plan ({verdict})", "", f"models.yaml against `{report.base}`.", ""]
    if not changed:
        lines.append("No environment changes.")
    else:
        lines += ["| environment | change | from | to |", "|---|---|---|---|"]
        lines += [
            f"| {p.env} | {p.kind} | {audit.describe(p.before)} | {audit.describe(p.after)} |"
            for p in changed
        ]
    for plan in changed:
        lines += [
            "",
            f"### {plan.env}: {audit.describe(plan.before)} → {audit.describe(plan.after)}",
            "",
        ]
        lines += _metric_rows(plan)
        lines += _gate_rows(plan)
        if plan.kind == "rollback":
            lines.append(
                f"\nRollback to a version (and digest) that served {plan.env} before: "
                "gates inform, they do not block."
            )
    lines += _policy_rows(report)
    lines += report.sections
    lines += ["", "### Checks", ""]
    lines += [f"- FAIL: {f}" for f in report.failures] or [
        "- schema, versions, digests, DVC remote, gates, order, canary: pass"
    ]
    return "\n".join(lines) + "\n"
