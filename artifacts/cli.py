"""`python -m artifacts` — keygen, pack, sign, verify, inspect, list.

Exit codes: 0 success, 1 the artifact/key/store is bad (one-line reason on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

import joblib

from . import layout, loader
from . import manifest as manifest_mod
from . import schema as schema_mod
from .errors import ArtifactError, InvalidName
from .signing import SCHEMES, generate_keys, load_signer, load_verifier
from .store import list_artifacts, save

EXIT_OK, EXIT_ARTIFACT, EXIT_USAGE = 0, 1, 2


def cmd_keygen(args: argparse.Namespace) -> int:
    paths = generate_keys(args.scheme, args.out)
    for role, path in paths.items():
        print(f"{role}: {path}")
    if args.scheme == "openssf":
        print("keep signing-key.pem with training; give servers only verify-key.pem")
    return EXIT_OK


def _input_schema(args: argparse.Namespace) -> schema_mod.InputSchema:
    if args.input_schema == "mnist":
        return schema_mod.InputSchema.mnist()
    return schema_mod.InputSchema.vector(args.features)


def cmd_pack(args: argparse.Namespace) -> int:
    layout.check_name(args.name, "model name")  # usage errors before any file is read
    if args.version is not None:
        layout.check_version(args.version)
    signer = load_signer(args.key, args.scheme)
    # The user vouches for this file: it is their own model, loaded once to be re-packaged.
    estimator = joblib.load(args.model)
    if not callable(getattr(estimator, "predict", None)):
        raise ArtifactError(f"{args.model} does not hold an estimator with predict()")
    path = save(
        estimator,
        args.store,
        args.name,
        version=args.version,
        signer=signer,
        input_schema=_input_schema(args),
        lineage={"packed_from": Path(args.model).name},
    )
    print(path)
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    """Add or replace one scheme's signature on an existing, intact artifact."""
    path = Path(args.artifact)
    files = layout.snapshot(path)
    loader._check_manifest_digests(manifest_mod.parse(files.get(layout.MANIFEST_FILE)), files)
    signer = load_signer(args.key, args.scheme)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".sign-") as tmp:
        work = Path(tmp) / "a"
        work.mkdir()
        for name, data in layout.content_files(files).items():
            (work / name).write_bytes(data)
        signer.sign(work)
        shutil.move(work / signer.signature_file, path / signer.signature_file)
    print(f"signed {path} ({signer.scheme})")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    doc = loader.verify(args.artifact, load_verifier(args.key, args.scheme))
    print(f"OK {doc['name']}/{doc['version']}: signature and digests verified")
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    path = Path(args.artifact)
    if args.key:
        doc = loader.verify(path, load_verifier(args.key, args.scheme))
        status = "verified"
    else:
        doc = manifest_mod.parse(layout.snapshot(path).get(layout.MANIFEST_FILE))
        status = "NOT verified (pass --key to verify)"
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
        return EXIT_OK
    print(_describe(doc, status))
    return EXIT_OK


def _describe(doc: dict, status: str) -> str:
    fw = doc.get("framework") or {}
    parity = doc.get("parity") or {}
    lines = [
        f"{doc['name']} {doc['version']}  ({status})",
        f"  created      {doc['created']}",
        f"  estimator    {doc.get('estimator')}",
        *_schema_lines(doc),
        "  framework    " + ", ".join(f"{k} {v}" for k, v in fw.items() if v),
    ]
    lines.extend(_metric_lines(doc.get("metrics") or {}))
    if parity:
        figures = {
            k: parity[k]
            for k in ("rows", "label_agreement", "max_proba_error", "max_abs_error")
            if parity.get(k) is not None
        }
        lines.append("  parity       " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    for fname, entry in sorted(doc["files"].items()):
        size, digest = entry.get("size"), entry["sha256"][:16]
        lines.append(f"  file         {fname}  {size} B  sha256 {digest}…")
    return "\n".join(lines)


def _schema_lines(doc: dict) -> list[str]:
    if manifest_mod.kind(doc) == layout.KIND_RECOMMENDER:
        return _recommender_lines(doc)
    try:
        inputs, outputs = schema_mod.input_schema(doc), schema_mod.output_schema(doc)
    except ArtifactError as exc:
        return [f"  schema       unreadable ({exc})"]
    if inputs.is_tabular:
        shown = ", ".join(
            f"{c.name} {c.type}{' categorical' if c.categorical else ''}"
            f"{'' if c.nullable else ' not-null'}"
            for c in inputs.columns
        )
        lines = [f"  input        {len(inputs.columns)} columns: {shown}"]
    else:
        lines = [f"  input        {inputs.kind}, {inputs.features} features"]
    task = f"  task         {outputs.task}" + (f" of {outputs.label!r}" if outputs.label else "")
    lines.append(task)
    if outputs.classes is not None:
        lines.append(f"  classes      {list(outputs.classes)}")
    return lines


def _recommender_lines(doc: dict) -> list[str]:
    info = doc.get("recommender") or {}
    feedback = "implicit" if info.get("implicit") else "explicit"
    return [
        "  kind         recommender (ALS factors, no pickle)",
        f"  factors      rank {info.get('rank')}, {feedback} feedback, "
        f"cold start {info.get('cold_start')!r}",
        f"  ids          {info.get('users')} users ({info.get('user_id_type')}), "
        f"{info.get('items')} items ({info.get('item_id_type')}), "
        f"{info.get('interactions')} training interactions",
        "  task         recommendation",
    ]


def _metric_lines(metrics: dict) -> list[str]:
    """Held-out figures: flat (`accuracy`) or per split (`{"test": {"accuracy": …}}`), and
    the calibration step's (temperature, test ECE before and after) when there was one."""
    lines = []
    for split in ("validation", "test", "calibration"):
        figures = metrics.get(split)
        if isinstance(figures, dict):
            shown = ", ".join(_figure(k, v) for k, v in figures.items() if _is_number(v))
            lines.append(f"  {split:<12} {shown}")
    flat = {k: v for k, v in metrics.items() if _is_number(v)}
    if flat:
        lines.append("  metrics      " + ", ".join(_figure(k, v) for k, v in flat.items()))
    return lines


def _is_number(value: object) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


def _figure(name: str, value: float | int) -> str:
    return f"{name} {value:.4f}" if isinstance(value, float) else f"{name} {value}"


def cmd_list(args: argparse.Namespace) -> int:
    refs = list_artifacts(args.store)
    if not refs:
        print(f"no artifacts in {args.store}")
    for ref in refs:
        sigs = sorted(layout.SIGNATURE_FILES & {p.name for p in ref.path.iterdir()})
        print(f"{ref.name}\t{ref.version}\t{','.join(sigs) or 'UNSIGNED'}\t{ref.path}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m artifacts", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def key_args(p: argparse.ArgumentParser, required: bool = True) -> None:
        p.add_argument("--key", required=required, help="key file (PEM or HMAC secret)")
        p.add_argument("--scheme", default="auto", choices=("auto", *SCHEMES))

    p = sub.add_parser("keygen", help="create a key pair (openssf) or a secret (hmac-sha256)")
    p.add_argument("--scheme", required=True, choices=SCHEMES)
    p.add_argument("--out", required=True, help="directory for the key files")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("pack", help="wrap an existing joblib/pickle sklearn model as an artifact")
    p.add_argument("model", help="a joblib file you trust (it is unpickled once)")
    p.add_argument("--store", default="model-store")
    p.add_argument("--name", required=True)
    p.add_argument("--version")
    p.add_argument("--input-schema", choices=("mnist", "tabular"), default="mnist")
    p.add_argument("--features", type=int, help="number of features (tabular)")
    key_args(p)
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("sign", help="add or replace a signature on an existing artifact")
    p.add_argument("artifact")
    key_args(p)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify", help="check signature and digests (never unpickles)")
    p.add_argument("artifact")
    key_args(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("inspect", help="show an artifact's manifest")
    p.add_argument("artifact")
    p.add_argument("--json", action="store_true")
    key_args(p, required=False)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("list", help="list the artifacts in a store")
    p.add_argument("store", nargs="?", default="model-store")
    p.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.func is cmd_pack and args.input_schema == "tabular" and not args.features:
        parser.error("--features N is required with --input-schema tabular")
    try:
        return args.func(args)
    except InvalidName as exc:  # a name or version the user typed: usage, not a bad artifact
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ArtifactError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_ARTIFACT
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ARTIFACT
