"""The signed model artifact: the one contract between training (spark_jobs) and serving.

Importing this package never imports pyspark, Flask or the serving code.
"""

from . import schema
from .errors import (
    ArtifactError,
    ArtifactExists,
    ArtifactNotFound,
    DigestMismatch,
    IdentityMismatch,
    InvalidName,
    KeyFileError,
    LayoutError,
    ManifestInvalid,
    NoVerificationKey,
    RecommenderInvalid,
    SignatureInvalid,
    SignatureMissing,
    SignerMissing,
    UnsupportedScheme,
    VersionSkew,
    WrongKind,
)
from .layout import MANIFEST_FILE, MODEL_FILE, check_name, check_version
from .loader import LoadedArtifact, load, verify
from .recommender import Factors, load_recommender, save_recommender
from .schema import Column, InputSchema, OutputSchema
from .signing import SCHEMES, generate_keys, load_signer, load_verifier
from .store import LATEST, ArtifactRef, list_artifacts, resolve, save

__all__ = [
    "LATEST",
    "MANIFEST_FILE",
    "MODEL_FILE",
    "SCHEMES",
    "ArtifactError",
    "ArtifactExists",
    "ArtifactNotFound",
    "ArtifactRef",
    "Column",
    "DigestMismatch",
    "Factors",
    "IdentityMismatch",
    "InputSchema",
    "InvalidName",
    "KeyFileError",
    "LayoutError",
    "LoadedArtifact",
    "ManifestInvalid",
    "NoVerificationKey",
    "OutputSchema",
    "RecommenderInvalid",
    "SignatureInvalid",
    "SignatureMissing",
    "SignerMissing",
    "UnsupportedScheme",
    "VersionSkew",
    "WrongKind",
    "check_name",
    "check_version",
    "generate_keys",
    "list_artifacts",
    "load",
    "load_recommender",
    "load_signer",
    "load_verifier",
    "resolve",
    "save",
    "save_recommender",
    "schema",
    "verify",
]
