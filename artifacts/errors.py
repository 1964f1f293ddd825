"""The artifact package's exception hierarchy.

Every failure a caller can act on has its own class, so serving can map them to problem+json
statuses and the CLI to one-line messages without parsing text.
"""

from __future__ import annotations


class ArtifactError(Exception):
    """Base class: anything wrong with an artifact, a store or a key."""


class ArtifactNotFound(ArtifactError):
    """The store, model name or version does not exist."""


class ArtifactExists(ArtifactError):
    """Saving would overwrite an existing version; versions are immutable."""


class LayoutError(ArtifactError):
    """The artifact directory holds something it must not: symlinks, sub-directories, odd names,
    or files that no signature covers."""


class InvalidName(LayoutError):
    """A model name, version or file name given by a caller is unsafe or reserved.

    A usage error rather than a bad artifact: the CLI exits 2 for it, the train job refuses
    the name before any training starts.
    """


class SignerMissing(ArtifactError):
    """``save`` was called without a signer; unsigned artifacts are never written."""


class ManifestInvalid(ArtifactError):
    """manifest.json is missing, not JSON, or lacks required fields."""


class SignatureMissing(ArtifactError):
    """No signature file for the configured scheme."""


class SignatureInvalid(ArtifactError):
    """The signature does not verify with the configured key (tampering, or another key)."""


class DigestMismatch(ArtifactError):
    """A file's sha256 differs from the one the signed manifest records."""


class IdentityMismatch(ArtifactError):
    """The directory an artifact sits in (`<name>/<version>`) differs from the name and version
    its signed manifest declares: a signed artifact copied or renamed to pose as another."""


class UnsupportedScheme(ArtifactError):
    """An unknown signature scheme was requested or found."""


class NoVerificationKey(ArtifactError):
    """Loading was attempted without a verification key; we fail closed."""


class KeyFileError(ArtifactError):
    """A key file is missing, unreadable, or not a key of the expected kind."""


class VersionSkew(ArtifactError):
    """The runtime's scikit-learn/numpy differ from the ones that produced the artifact in a way
    that can change predictions."""


class WrongKind(ArtifactError):
    """The artifact is of another kind than the caller loads (a recommender given to the
    estimator loader, or the other way round)."""


class RecommenderInvalid(ArtifactError):
    """A recommender's arrays or ids are malformed: wrong dtype (object arrays included), shape,
    non-finite factors, duplicate or mixed-type ids, or a CSR index out of range."""
