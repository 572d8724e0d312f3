"""Model files: skops only, byte-reproducible, loaded against an allow-list kept in code.

Never pickle. A skops file lists the types it needs; we refuse any type not in ``TRUSTED``
instead of trusting what the file says about itself. Callers load a file only after its sha256
matched the digest Git pinned (``verify_digest``).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

from mlops.core.errors import MlopsError
from mlops.model import skops_defaults

# Types a model file of this template may contain beyond skops' defaults: every estimator
# `train.estimator` offers (mlops.stages.train.ESTIMATORS) for every task. The tree predictors
# are on skops' untrusted list because a crafted file can crash predict; we accept them only in
# files whose digest Git pinned.
TRUSTED: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",  # random forests
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.utils._bunch.Bunch",
    "numpy.dtype",
    "builtins.str",
    "builtins.object",
    "pandas.StringDtype",
    "pandas.core.arrays.string_.StringDtype",
    "numpy.float64",
    "numpy.int64",
)

_EPOCH = (1980, 1, 1, 0, 0, 0)


class ModelFileError(MlopsError):
    """A model file is missing, does not match its digest, or holds an untrusted type."""


def sha256(path: str | Path) -> str:
    """``sha256:<hex>`` of a file, the form models.yaml pins."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


_ID = re.compile(r'("__id__": |")(\d{6,})(\.npy")?')


def _stable_ids(schema: str) -> dict[str, str]:
    """skops names objects by ``id()``, which changes per process; number them by first use."""
    mapping: dict[str, str] = {}
    for match in _ID.finditer(schema):
        if match.group(1) == '"' and not match.group(3):
            continue
        mapping.setdefault(match.group(2), str(len(mapping) + 1))
    return mapping


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a skops zip with stable object ids, fixed timestamps and sorted entries,
    so the same fitted model always gives the same bytes (and the same md5)."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        entries = {name: src.read(name) for name in src.namelist()}
    schema = entries.pop("schema.json").decode()
    ids = _stable_ids(schema)
    schema = _ID.sub(
        lambda m: (
            m.group(0)
            if m.group(1) == '"' and not m.group(3)
            else f"{m.group(1)}{ids[m.group(2)]}{m.group(3) or ''}"
        ),
        schema,
    )
    renamed = {"schema.json": schema.encode()}
    for name, blob in entries.items():
        stem, dot, ext = name.partition(".")
        renamed[f"{ids.get(stem, stem)}{dot}{ext}"] = blob
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, renamed[name])
    return out.getvalue()


# the decision threshold the model is served with (params.yaml evaluate.threshold), carried in
# the artifact so a server reads it from the digest-checked file, never from a tag's text
THRESHOLD_ATTRIBUTE = "mlops_threshold_"


def threshold_of(model) -> float | None:
    """The threshold a model artifact carries (None for artifacts made before they did)."""
    value = getattr(model, THRESHOLD_ATTRIBUTE, None)
    return None if value is None else float(value)


def save(model, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio = skops_defaults.skops_io()  # brings scikit-learn: only where a model is read or written
    path.write_bytes(_normalise_zip(sio.dumps(model)))


def untrusted_types(data: bytes) -> list[str]:
    """Types the file needs that are neither skops defaults nor in ``TRUSTED``."""
    sio = skops_defaults.skops_io()
    return sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED))


def loads(data: bytes, source: str = "model file"):
    """The model in ``data``, built only when every type it needs is a skops default or in
    ``TRUSTED``: skops audits the whole tree before it constructs anything."""
    sio = skops_defaults.skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(data, trusted=list(TRUSTED))
    except UntrustedTypesFoundException:
        extra = untrusted_types(data)  # a second read, on the refusal path only, to name them
    raise ModelFileError(
        f"{source} needs types outside the allow-list: {', '.join(extra)}; "
        "if the model code changed on purpose, add "
        + ", ".join(f'"{t}"' for t in extra)
        + " to TRUSTED in src/mlops/model/model_io.py"
        " (reviewed: only types you know to be safe)"
    )


def load(path: str | Path, expected_digest: str | None = None):
    """Load a model file, first checking its sha256 when a digest is given."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found (run `dvc pull` or `dvc repro`)")
    if expected_digest is not None:
        verify_digest(path, expected_digest)
    return loads(path.read_bytes(), source=str(path))


def verify_digest(path: str | Path, expected: str) -> None:
    actual = sha256(path)
    if actual != expected:
        raise ModelFileError(
            f"{path}: sha256 is {actual} but Git pinned {expected}; refusing to load it"
        )
