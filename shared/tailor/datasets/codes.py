"""Report codes: a public contract that users automate on. Add, never rename.

The first block is the list fixed by the validation issue; the second block holds codes added
where none of those fit (each documented in docs/datasets.md).
"""

from __future__ import annotations

from enum import StrEnum


class IssueCode(StrEnum):
    JSON_INVALID = "json_invalid"
    NOT_OBJECT = "not_object"
    ENCODING = "encoding"
    SCHEMA = "schema"
    ROLE_ORDER = "role_order"
    EMPTY_CONTENT = "empty_content"
    RESERVED_TOKEN = "reserved_token"
    MEDIA_NOT_ALLOWED = "media_not_allowed"
    MEDIA_LIMIT = "media_limit"
    MEDIA_FORMAT = "media_format"
    MEDIA_LOCATION = "media_location"
    MIXED_MEDIA = "mixed_media"
    RECORD_COUNT = "record_count"
    VALIDATION_NOT_ALLOWED = "validation_not_allowed"
    TOKEN_LIMIT = "token_limit"
    CPT_FORMAT = "cpt_format"
    UNSUPPORTED_MODEL = "unsupported_model"
    UNSUPPORTED_TECHNIQUE = "unsupported_technique"

    # Added codes (docs/datasets.md, "Added codes").
    DUPLICATE_RECORD = "duplicate_record"
    BLANK_LINE = "blank_line"
    LINE_ENDINGS = "line_endings"
    LINE_TOO_LONG = "line_too_long"
    FILE_EXTENSION = "file_extension"
    FILE_MISSING = "file_missing"
    FILE_UNREADABLE = "file_unreadable"
    FILE_COMPRESSED = "file_compressed"
    # Ingestion-level codes (the job spec or the upload itself, before any data is read).
    SPEC_INVALID = "spec_invalid"
    NOT_A_TRIGGER = "not_a_trigger"
    KEY_INVALID = "key_invalid"
    DATASET_TOO_LARGE = "dataset_too_large"  # more bytes than one ingestion invocation can read


# A sensible "how to fix" for each code; a check passes its own hint when it knows better.
DEFAULT_HINTS: dict[IssueCode, str] = {
    IssueCode.JSON_INVALID: "each line must be one complete JSON object; check quotes, commas and braces",
    IssueCode.NOT_OBJECT: "each line must be a JSON object ({...}), not an array, string or number",
    IssueCode.ENCODING: "save the file as UTF-8 (without a byte-order mark)",
    IssueCode.SCHEMA: "see docs/datasets.md for the record layout of this technique",
    IssueCode.ROLE_ORDER: "messages start with 'user', alternate user/assistant, and end with 'assistant'",
    IssueCode.EMPTY_CONTENT: "give every text item non-empty text, or remove the item",
    IssueCode.RESERVED_TOKEN: "rephrase the text: Nova reserves these strings for its prompt template",
    IssueCode.MEDIA_NOT_ALLOWED: "remove the media item, or use a model/technique that accepts it",
    IssueCode.MEDIA_LIMIT: "split the record or shrink the media to the model's limits",
    IssueCode.MEDIA_FORMAT: "declare the format that matches the file, and use a format the model accepts",
    IssueCode.MEDIA_LOCATION: "put media in the dataset's bucket and reference it as s3://<bucket>/<key>",
    IssueCode.MIXED_MEDIA: "a dataset is text+images or text+video: split it into two datasets",
    IssueCode.RECORD_COUNT: "add or remove records to fit the model's bounds",
    IssueCode.VALIDATION_NOT_ALLOWED: "drop the validation file, or merge it into the training file",
    IssueCode.TOKEN_LIMIT: "shorten or split the record to fit the model's context",
    IssueCode.CPT_FORMAT: 'each line must be exactly {"text": "<non-empty string>"}',
    IssueCode.UNSUPPORTED_MODEL: "use a model alias such as nova-lite, or a Bedrock Nova model id",
    IssueCode.UNSUPPORTED_TECHNIQUE: "pick a technique this model supports (see docs/datasets.md)",
    IssueCode.DUPLICATE_RECORD: "remove repeated records: they over-weight one example",
    IssueCode.BLANK_LINE: "remove blank lines: Tailor skips them, other tools may not",
    IssueCode.LINE_ENDINGS: "save with LF line endings (Tailor accepts CRLF)",
    IssueCode.LINE_TOO_LONG: "a line this long cannot be a valid record: check for missing newlines",
    IssueCode.FILE_EXTENSION: "name the file *.jsonl",
    IssueCode.FILE_MISSING: "upload the file (or fix its path) and validate again",
    IssueCode.FILE_UNREADABLE: "check the path and that the reader may access it",
    IssueCode.FILE_COMPRESSED: "decompress the file and upload the .jsonl itself",
    IssueCode.SPEC_INVALID: "fix job.json and upload it again (see docs/job-spec.md)",
    IssueCode.NOT_A_TRIGGER: "upload datasets/<name>/job.json last, or a file as inbox/<technique>/<model>/",
    IssueCode.KEY_INVALID: "rename the folder or file using letters, digits and -!_*'(). only",
    IssueCode.DATASET_TOO_LARGE: "split the data into datasets under the limit (docs/datasets.md)",
}
