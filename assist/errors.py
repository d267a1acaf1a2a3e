"""One exception root, so the API and CLI can turn every failure into a clear message."""

from __future__ import annotations


class AssistError(Exception):
    """Root of every error Xiaoer raises on purpose. Where one failure has several causes
    (a broken knowledge base, a file of bad rows), `problems` lists each as
    `file:where: message`."""

    code = "assist_error"

    def __init__(self, message: str = "", problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


class InvalidInput(AssistError):
    code = "invalid_input"


class EmptyAfterNormalization(InvalidInput):
    code = "empty_after_normalization"


class MessageTooLong(InvalidInput):
    code = "message_too_long"


class KnowledgeValidationError(AssistError):
    """The knowledge base has errors (problems: each as `file:id: message`)."""

    code = "knowledge_invalid"

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} knowledge error(s):\n" + "\n".join(errors), errors)


class ArtifactError(AssistError):
    code = "artifact_error"


class Incompatible(ArtifactError):
    code = "artifact_incompatible"


class ChecksumMismatch(ArtifactError):
    code = "artifact_checksum_mismatch"


class NotReady(AssistError):
    code = "not_ready"


class NotFound(AssistError):
    code = "not_found"


class StoreError(AssistError):
    """The database cannot be used (cannot connect, unknown schema revision)."""

    code = "store_error"


class ReloadRefused(AssistError):
    """A reload found broken knowledge or models (problems: each as `file: message`)."""

    code = "reload_refused"

    def __init__(self, problems: list[str]):
        super().__init__(f"reload refused, the knowledge and models in service are unchanged: {len(problems)} problem(s)",
                         problems)
