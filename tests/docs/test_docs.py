"""The documentation: reference pages that cover the code, a README that fits on a screen, no
merge scars, and a site that builds with every link and anchor resolved."""

from __future__ import annotations

import html
import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from mlops.cli import app

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "docs" / "gen"
README_LIMIT = 15 * 1024


def _load(name: str):
    """A module of docs/gen/, imported as `python docs/gen/reference.py` imports its siblings."""
    if str(GEN) not in sys.path:
        sys.path.insert(0, str(GEN))
    return importlib.import_module(name)


reference = _load("reference")
environments_ref = _load("ref_environments")
scars = _load("scars")


def _sections(page: str) -> dict[str, str]:
    """Heading text -> the text under it, for the `## ` sections of a page."""
    parts = re.split(r"^## (.+)$", page, flags=re.M)
    return {parts[i].strip("` "): parts[i + 1] for i in range(1, len(parts), 2)}


def _leaf_commands(cmd, path):
    subs = getattr(cmd, "commands", None)
    if subs is None:
        yield path, cmd
        return
    for name, sub in subs.items():
        yield from _leaf_commands(sub, [*path, name])


# ------------------------------------------------------------------------ generated reference
def test_the_cli_reference_has_every_command_with_its_help_and_every_option():
    sections = _sections(reference.cli_page())
    commands = list(_leaf_commands(typer.main.get_command(app), ["mlops"]))
    assert len(commands) >= 20  # the walk found the command tree, not one group
    for path, cmd in commands:
        name = " ".join(path)
        assert name in sections, f"{name} missing from the CLI reference"
        body = html.unescape(sections[name])  # help text is escaped: <model> is not a tag
        first_line = (cmd.help or "").strip().splitlines()[0]
        assert first_line in body
        for param in cmd.params:
            if param.name != "help":
                flag = param.opts[0] if param.param_type_name == "option" else param.name
                assert f"`{flag}" in body, f"{name}: {flag} missing"


def _schema_property_names(node) -> set[str]:
    names = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= _schema_property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _schema_property_names(value)
    return names


def _code_keys(page: str) -> set[str]:
    """The key paths in the first column of a page's tables."""
    return set(re.findall(r"^\| `([^`]+)` \|", page, flags=re.M))


def test_the_models_yaml_reference_has_every_key_of_the_schema():
    schema = json.loads((ROOT / "src/mlops/schemas/models.schema.json").read_text())
    keys = _code_keys(reference.models_yaml_page())
    last = {k.rsplit(".", 1)[-1] for k in keys}
    for name in _schema_property_names(schema):
        assert name in last, f"models.yaml key {name} missing from the reference"
    # nested keys are shown at their place, e.g. a canary's traffic under an environment
    assert "models.<model>.<environment>.canary.traffic" in keys
    assert "registered.<model>@<version>.digest" in keys


def _flatten(raw: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in raw.items():
        path = f"{prefix}{key}"
        keys.add(path)
        if isinstance(value, dict):
            keys |= _flatten(value, f"{path}.")
    return keys


# maps whose keys are the user's choice (metric names, gate names, resource kinds)
FREE_MAPS = ("gates.min.", "gates.max_regression.", "gates.max_slice_gap.", "gates.min_lift.",
             "gates.mode.", "canary.abort_on.", "canary.min_effect.", "monitoring.min_live.",
             "serving.kserve.resources.")  # fmt: skip


def test_the_environments_reference_has_every_key_the_template_uses_and_the_loader_reads():
    from mlops.formats import environments

    keys = _code_keys(reference.environments_page())
    for path in sorted((ROOT / "environments").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        for key in _flatten(raw):
            if not key.startswith(FREE_MAPS) and not isinstance(_get(raw, key), dict):
                assert key in keys, f"{path.name}: {key} missing from the reference"
    for field in environments.KServe.__dataclass_fields__:
        assert f"serving.kserve.{field}" in keys


def test_the_contract_reference_has_every_key_the_loader_accepts():
    keys = _code_keys(reference.contract_page())
    raw = yaml.safe_load((ROOT / "contract.yaml").read_text())
    columns = raw.pop("columns")
    for key in _flatten(raw):
        assert key in keys, f"contract.yaml {key} missing"
    for spec in columns.values():
        for key in spec:
            assert f"columns.<column>.{key}" in keys
    # the keys only some tables use (an adopted table's id column, ordered categories)
    for key in ("id", "columns.<column>.ordered", "columns.<column>.personal"):
        assert key in keys


def test_the_params_reference_has_every_key_of_params_yaml_and_who_reads_it():
    page = reference.params_page()
    keys = _code_keys(page)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    leaves = {k for k in _flatten(raw) if not isinstance(_get(raw, k), dict)}
    assert leaves <= keys
    rows = re.findall(r"^\| `([^`]+)` (.*)$", page, re.M)
    readers = {key: row.rsplit("|", 2)[-2] for key, row in rows}
    assert "split" in readers["split.seed"] and "train" not in readers["split.seed"]
    assert "not a stage" in readers["refresh.window_days"]


def _get(raw: dict, key: str):
    for part in key.split("."):
        raw = raw[part]
    return raw


def test_the_metrics_reference_has_every_metric_the_server_defines():
    source = (ROOT / "src/mlops/serve/metrics.py").read_text()
    defined = set(re.findall(r'"(mlops_[a-z_]+)"', source))
    page = reference.metrics_page()
    assert defined
    for name in defined:
        assert f"`{name}" in page, f"{name} missing from the metrics reference"
    assert "`mlops_requests_total`" in page  # counters as Prometheus exposes them


def test_a_key_without_a_description_stops_the_generator(monkeypatch):
    """A field added to an environment's dataclass with no comment cannot reach the page blank."""
    monkeypatch.setattr(environments_ref, "field_comments", lambda cls: {})
    with pytest.raises(SystemExit, match=r"no description for serving\.kserve\.replicas"):
        environments_ref.environments_page()


# --------------------------------------------------------------------------------- README
def test_the_readme_fits_on_a_screen_and_links_into_the_site():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= README_LIMIT
    for command in ("make demo", "make test", "make test-fast"):
        assert command in readme
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).is_file(), link


def test_no_page_points_at_files_that_are_not_in_the_repository():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        assert "DESIGN.md" not in text and "CONVENTIONS.md" not in text, path.name


# ----------------------------------------------------------------------------- merge scars
SPLIT_TABLE = """| endpoint | answer |
|---|---|
| `POST /predict` | records in, predictions out |

| `GET /healthz` | the process is up |
"""
ONE_ROW_TWICE = """| endpoint | answer |
|---|---|
| `GET /metrics` | Prometheus: requests, latency, scores, cpu seconds, predictions, sync |
| `GET /healthz` | the process is up |
| `GET /metrics` | Prometheus: requests, latency, scores per task, cpu seconds, predictions, sync |
"""
HALF_SENTENCE = """- **Reconcile**: fetch the artifact, load it, then swap in a new routing snapshot
  with one reference assignment. A request uses one snapshot from start

  with the allow-list, warm it up, then swap in a new routing snapshot with one reference
  assignment. A request uses one snapshot from start to end.
"""
PARAGRAPH = "The server answers every request from one routing snapshot, start to end.\n"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (SPLIT_TABLE, "a blank line split a table"),
        (ONE_ROW_TWICE, "`GET /metrics` appears twice"),
        (HALF_SENTENCE, "words repeated"),
        (PARAGRAPH + "\nOther text.\n\n" + PARAGRAPH, "paragraph repeated"),
    ],
)
def test_the_scar_check_finds_each_kind_of_scar(text, found):
    assert any(found in scar for scar in scars.scars(text))


def test_the_scar_check_leaves_grouped_tables_and_examples_alone():
    grouped = """| stable | degradation | share | requests |
|---|---|---|---:|
| 5xx 1 % | +1 point | 10 % | 39,000 |
| 5xx 1 % | +1 point | 50 % | 12,200 |
| live error 20 % | +5 points | 10 % | 16,900 |
"""
    example = "```bash\nmlops serve --env staging\nmlops serve --env staging\n```\n"
    assert scars.scars(grouped + "\n" + example + "\n" + example) == []


def test_the_readme_and_the_pages_have_no_merge_scars():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) >= 10
    found = [f"{p.name}:{s}" for p in pages for s in scars.scars(p.read_text())]
    assert found == []


# ---------------------------------------------------------------------------- the site
def _build(tmp_path: Path, edit=None) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of a copy of the site, its reference generated afresh."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("reference"))
    if edit:
        edit(tmp_path / "docs")
    reference.main(tmp_path / "docs" / "reference")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    return subprocess.run(
        [str(mkdocs), "build", "--strict", "-f", "mkdocs.yml", "-d", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"},
    )


def test_the_site_builds_strictly_with_the_generated_reference(tmp_path):
    done = _build(tmp_path)
    assert done.returncode == 0, done.stderr
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "mlops promote" in cli and "mlops data adopt" in cli
    loop = (tmp_path / "site" / "gitops-loop" / "index.html").read_text()
    assert 'src="../assets/gitops-loop.svg"' in loop
    assert (tmp_path / "site" / "assets" / "gitops-loop.svg").read_text().startswith("<svg")
    for page in (tmp_path / "site").rglob("*.html"):  # nothing is loaded from a network
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=\"https?:", text), page
        assert "fonts.googleapis.com" not in text, page


def test_a_broken_anchor_fails_the_build(tmp_path):
    def break_a_link(docs: Path) -> None:
        page = docs / "runbooks.md"
        page.write_text(page.read_text() + "\nSee [nowhere](serving.md#no-such-section).\n")

    done = _build(tmp_path, break_a_link)
    assert done.returncode != 0
    assert "no-such-section" in done.stderr
