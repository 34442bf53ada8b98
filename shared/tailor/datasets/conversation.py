"""Fine-tuning and distillation records (``bedrock-conversation-2024``, Converse format).

Hand-written checks over the dict orjson returns: no pydantic per record. The common record
(text items only) runs a short straight-line path; anything unusual (media, reasoning, unknown
fields, wrong types) goes to slower, thorough helpers that also write the messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from tailor.datasets import tokens
from tailor.datasets.codes import IssueCode
from tailor.datasets.fastpath import SCHEMA_VERSION, plain_text
from tailor.datasets.lines import LineBatcher
from tailor.datasets.report import IssueCollector
from tailor.datasets.reserved import all_reserved, first_reserved, has_reserved
from tailor.datasets.scan import Deduper, FileScan, bad_line, json_type
from tailor.jobs.catalog import NovaModel, Technique, TechniqueLimits

_TOP_KEYS = frozenset({"schemaVersion", "system", "messages"})
_ITEM_KINDS = ("text", "image", "video", "document", "reasoningContent")
_TOOL_KEYS = frozenset({"toolUse", "toolResult", "toolConfig", "cachePoint"})
_MEDIA_KINDS = ("image", "video", "document")
MAX_MEDIA_REFS = 200_000  # media references remembered for the S3 checks (bounded memory)
_EXCERPT = 60

# Return values of the item helpers: what the item was.
_OTHER, _IMAGE, _VIDEO, _DOCUMENT = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class MediaRef:
    file: str
    line: int
    kind: str  # image | video | document
    bucket: str
    key: str
    format: str | None  # the declared format, when the model accepts it


@dataclass(slots=True)
class MediaTally:
    """Which records carry images or video (a dataset is text+images or text+video)."""

    image_records: int = 0
    video_records: int = 0
    first_image: tuple[str, int] | None = None
    first_video: tuple[str, int] | None = None
    refs: list[MediaRef] = field(default_factory=list)
    refs_dropped: int = 0

    def add(self, ref: MediaRef) -> None:
        if len(self.refs) < MAX_MEDIA_REFS:
            self.refs.append(ref)
        else:
            self.refs_dropped += 1

    def absorb(self, other: MediaTally, offset: int) -> None:
        """Merge the tally of a later part of the dataset (a parallel scan's worker, whose lines
        start after ``offset``)."""
        self.image_records += other.image_records
        self.video_records += other.video_records
        if self.first_image is None and other.first_image is not None:
            self.first_image = (other.first_image[0], other.first_image[1] + offset)
        if self.first_video is None and other.first_video is not None:
            self.first_video = (other.first_video[0], other.first_video[1] + offset)
        room = max(MAX_MEDIA_REFS - len(self.refs), 0)
        self.refs.extend(replace(ref, line=ref.line + offset) for ref in other.refs[:room])
        self.refs_dropped += other.refs_dropped + max(len(other.refs) - room, 0)


@dataclass(slots=True)
class VersionTally:
    """Records whose schemaVersion is a string other than the documented one: allowed (AWS: "any
    string value"), so warned about once for the dataset, at the first such record."""

    count: int = 0
    first: tuple[str, int, str] | None = None  # file, line, value

    def add(self, version: str, file: str, line: int) -> None:
        self.count += 1
        if self.first is None:
            self.first = (file, line, version)

    def absorb(self, other: VersionTally, offset: int) -> None:
        """Merge the tally of a later part of the dataset (lines start after ``offset``)."""
        self.count += other.count
        if self.first is None and other.first is not None:
            file, line, version = other.first
            self.first = (file, line + offset, version)


def _where(message: int, item: int | None = None) -> str:
    return f"messages[{message}]" if item is None else f"messages[{message}].content[{item}]"


def _excerpt(text: str, token: str) -> str:
    at = text.find(token)
    start = max(0, at - 20)
    piece = text[start : start + _EXCERPT].replace("\n", " ")
    return ("…" if start else "") + piece + ("…" if start + _EXCERPT < len(text) else "")


class ConversationChecker:
    """Checks Converse-format records for one (model, technique); state spans all files."""

    def __init__(
        self,
        model: NovaModel,
        technique: Technique,
        limits: TechniqueLimits,
        issues: IssueCollector,
        *,
        dataset_bucket: str | None,
        files: list[str],
        part: int | None = None,
    ) -> None:
        self.model = model
        self.technique = technique
        self.limits = limits
        self.issues = issues
        self.dataset_bucket = dataset_bucket  # None: a local dataset
        self.media = MediaTally()
        self.versions = VersionTally()
        self.dedupe = Deduper(files, part=part)
        self.tokens_total = 0
        self.tokens_max = 0
        self._min_messages = 2 if limits.assistant_required else 1
        self._extra_bytes = 0  # text counted by the slow paths (reasoning) for the current record
        context = limits.context_tokens
        self._warn_above, self._reject_above = tokens.thresholds(context) if context else (0, 0)

    # --- the scan loop -----------------------------------------------------------------------

    def scan(self, file: str, batcher: LineBatcher, first_line: int = 1) -> FileScan:
        """Check every line the batcher yields; ``first_line`` is the number of the first one."""
        result = FileScan(file=file)
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        check = self.check
        dedupe = self.dedupe
        base = dedupe.base(file)
        prompts_only = not self.limits.assistant_required
        warn_above = self._warn_above
        total = largest = 0
        number = batcher.lines_done = first_line - 1
        for stream in batcher.streams():
            remember = dedupe.remember()
            first_number = number + 1
            for number, line in enumerate(stream, first_number):
                try:
                    record = loads(line)
                except decode_error as error:
                    if bad_line(line, number, error, batcher, self.issues, file):
                        result.blank_lines += 1
                        if result.first_blank is None:
                            result.first_blank = number
                    continue
                tag = number * 256 + base
                plain = plain_text(record, prompts_only)
                first = remember(hash(line) if plain is None else plain[1], tag)
                if first is not None and first != tag:
                    dedupe.report(self.issues, tag, first)
                if plain is None:
                    check(record, file, number)  # anything unusual: the thorough path
                    continue
                estimate = (plain[0] + 3) >> 2
                total += estimate
                if estimate > largest:
                    largest = estimate
                if warn_above and estimate > warn_above:
                    self._token_limit(estimate, file, number)
            batcher.lines_done = number
        self.tokens_total += total
        self.tokens_max = max(self.tokens_max, largest)
        result.finish(batcher, first_line)
        return result

    # --- one record --------------------------------------------------------------------------

    def check(self, record: Any, file: str, line: int) -> None:
        issues = self.issues
        if type(record) is not dict:
            issues.error(
                IssueCode.NOT_OBJECT, file, line, f"the line is a JSON {json_type(record)}, not an object"
            )
            return
        messages = record.get("messages")
        if type(messages) is not list:
            self._bad_messages(messages, file, line)
            return
        if len(record) > 1:
            self._top_level(record, file, line)
        size = 0  # UTF-8 bytes of text
        system = record.get("system")
        if system is not None:
            size += self._system(system, file, line)

        images = videos = documents = 0
        expected = "user"
        role_ok = True
        role: Any = None
        for m, message in enumerate(messages):
            if type(message) is not dict:
                issues.error(
                    IssueCode.SCHEMA, file, line, f"{_where(m)} must be an object with role and content"
                )
                role_ok = False
                expected = "assistant" if expected == "user" else "user"
                continue
            role = message.get("role")
            if role != expected and role_ok:
                role_ok = False
                self._role_error(role, expected, m, file, line)
            user = role == "user"
            content = message.get("content")
            if type(content) is not list or not content:
                self._bad_content(content, m, file, line)
            else:
                for i, item in enumerate(content):
                    if type(item) is dict and len(item) == 1:
                        text = item.get("text")
                        if type(text) is str:
                            if not text or text.isspace():
                                issues.error(
                                    IssueCode.EMPTY_CONTENT, file, line, f"{_where(m, i)}.text is empty"
                                )
                                continue
                            size += len(text) if text.isascii() else tokens.text_bytes(text)
                            if (":" in text or "<" in text or "[" in text) and has_reserved(text):
                                self._reserved(text, user, f"{_where(m, i)}.text", file, line)
                            continue
                    kind = self._item(item, role, m, i, file, line)
                    if kind:
                        if kind == _IMAGE:
                            images += 1
                        elif kind == _VIDEO:
                            videos += 1
                        else:
                            documents += 1
            expected = "assistant" if expected == "user" else "user"

        if role_ok:
            if len(messages) < self._min_messages:
                need = "a user and an assistant message" if self._min_messages == 2 else "a user message"
                issues.error(
                    IssueCode.ROLE_ORDER,
                    file,
                    line,
                    f"{len(messages)} message(s): a record needs at least {need}",
                )
            elif self.limits.assistant_required and role != "assistant":
                issues.error(
                    IssueCode.ROLE_ORDER,
                    file,
                    line,
                    "the last message must be from the assistant (the answer to learn)",
                )
        if images or videos or documents:
            self._record_media(images, videos, documents, file, line)
        if self._extra_bytes:
            size += self._extra_bytes
            self._extra_bytes = 0
        estimate = tokens.tokens_for_bytes(size)
        if images or videos or documents:
            estimate += (
                images * tokens.IMAGE_TOKENS
                + videos * tokens.VIDEO_TOKENS
                + documents * tokens.DOCUMENT_TOKENS
            )
        self.tokens_total += estimate
        if estimate > self.tokens_max:
            self.tokens_max = estimate
        if self._warn_above and estimate > self._warn_above:
            self._token_limit(estimate, file, line)

    # --- slow paths ---------------------------------------------------------------------------

    def _bad_messages(self, messages: Any, file: str, line: int) -> None:
        if messages is None:
            self.issues.error(IssueCode.SCHEMA, file, line, "the record has no 'messages' list")
        else:
            self.issues.error(
                IssueCode.SCHEMA, file, line, f"'messages' must be a list, not a JSON {json_type(messages)}"
            )

    def _top_level(self, record: dict[str, Any], file: str, line: int) -> None:
        version = record.get("schemaVersion", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            if type(version) is str:
                # AWS: schemaVersion "can be any string value". Tallied, and warned once (finish).
                self.versions.add(version, file, line)
            else:
                self.issues.error(
                    IssueCode.SCHEMA,
                    file,
                    line,
                    f"schemaVersion must be a string, not a JSON {json_type(version)}",
                    f'set "schemaVersion": "{SCHEMA_VERSION}" or leave it out',
                )
        if _TOP_KEYS.issuperset(record):
            return
        unknown = sorted(k for k in record if k not in _TOP_KEYS)
        tools = [k for k in unknown if k in _TOOL_KEYS]
        if tools:
            self.issues.error(
                IssueCode.SCHEMA,
                file,
                line,
                f"{', '.join(tools)}: tool use is not supported for Nova customization on Bedrock",
                "remove toolConfig and tool turns from the record",
            )
        others = [k for k in unknown if k not in _TOOL_KEYS]
        if others:
            self.issues.warning(
                IssueCode.SCHEMA,
                file,
                line,
                f"unknown top-level field(s) {', '.join(map(repr, others))} will be ignored or rejected",
                "records hold schemaVersion, system and messages only",
            )

    def _system(self, system: Any, file: str, line: int) -> int:
        if type(system) is not list:
            self.issues.error(IssueCode.SCHEMA, file, line, 'system must be a list like [{"text": "..."}]')
            return 0
        size = 0
        for i, item in enumerate(system):
            text = item.get("text") if type(item) is dict else None
            if type(text) is not str or len(item) != 1:
                self.issues.error(IssueCode.SCHEMA, file, line, f'system[{i}] must be {{"text": "..."}}')
                continue
            if not text or text.isspace():
                self.issues.error(IssueCode.EMPTY_CONTENT, file, line, f"system[{i}].text is empty")
                continue
            size += tokens.text_bytes(text)
            self._reserved(text, True, f"system[{i}].text", file, line)
        return size

    def _role_error(self, role: Any, expected: str, m: int, file: str, line: int) -> None:
        if role not in ("user", "assistant"):
            hint = (
                "put the system prompt in the top-level 'system' list, not in messages"
                if role == "system"
                else None
            )
            self.issues.error(
                IssueCode.ROLE_ORDER,
                file,
                line,
                f"{_where(m)}.role is {role!r}: only 'user' and 'assistant' are allowed",
                hint,
            )
        else:
            self.issues.error(
                IssueCode.ROLE_ORDER,
                file,
                line,
                f"{_where(m)}.role is {role!r}, expected {expected!r} (roles alternate from 'user')",
            )

    def _bad_content(self, content: Any, m: int, file: str, line: int) -> None:
        if type(content) is list:
            self.issues.error(IssueCode.EMPTY_CONTENT, file, line, f"{_where(m)}.content is empty")
        elif content is None:
            self.issues.error(IssueCode.SCHEMA, file, line, f"{_where(m)} has no 'content' list")
        else:
            self.issues.error(
                IssueCode.SCHEMA,
                file,
                line,
                f"{_where(m)}.content must be a list of items, not a JSON {json_type(content)}",
            )

    def _reserved(self, text: str, user_side: bool, where: str, file: str, line: int) -> None:
        token = first_reserved(text)
        if token is None:
            return
        found = ", ".join(repr(t) for t in all_reserved(text))
        if user_side:
            self.issues.error(
                IssueCode.RESERVED_TOKEN,
                file,
                line,
                f"{where} contains reserved {found}: {_excerpt(text, token)!r}",
            )
        else:
            # aws-facts lists user/system text; AWS's sample rejects it everywhere: warn.
            self.issues.warning(
                IssueCode.RESERVED_TOKEN,
                file,
                line,
                f"{where} contains reserved {found} in an assistant turn: {_excerpt(text, token)!r}",
            )

    def _item(self, item: Any, role: Any, m: int, i: int, file: str, line: int) -> int:
        where = _where(m, i)
        if type(item) is not dict:
            self.issues.error(
                IssueCode.SCHEMA, file, line, f'{where} must be an object such as {{"text": ...}}'
            )
            return _OTHER
        kinds = [k for k in _ITEM_KINDS if k in item]
        unknown = sorted(k for k in item if k not in _ITEM_KINDS)
        if unknown:
            tools = [k for k in unknown if k in _TOOL_KEYS]
            message = (
                f"{where}: {', '.join(tools)} — tool use is not supported for Nova customization on Bedrock"
                if tools
                else f"{where} has unknown field(s) {', '.join(map(repr, unknown))}"
            )
            self.issues.error(IssueCode.SCHEMA, file, line, message)
            return _OTHER
        if len(kinds) != 1:
            message = (
                f"{where} is empty: an item holds one of text, image, video"
                if not kinds
                else f"{where} has {', '.join(kinds)}: an item holds exactly one of them"
            )
            code = IssueCode.EMPTY_CONTENT if not kinds else IssueCode.SCHEMA
            self.issues.error(code, file, line, message)
            return _OTHER
        kind = kinds[0]
        value = item[kind]
        if kind == "text":
            self.issues.error(
                IssueCode.SCHEMA, file, line, f"{where}.text must be a string, not a JSON {json_type(value)}"
            )
            return _OTHER
        if kind == "reasoningContent":
            self._reasoning(value, role, where, file, line)
            return _OTHER
        return self._media_item(kind, value, role, where, file, line)

    def _reasoning(self, value: Any, role: Any, where: str, file: str, line: int) -> None:
        if not self.limits.reasoning_allowed:
            self.issues.error(
                IssueCode.SCHEMA,
                file,
                line,
                f"{where}: reasoningContent is not accepted by {self.model.alias} {self.technique.value}",
                "reasoning traces are for nova-2-lite fine-tuning; remove the item",
            )
            return
        if role != "assistant":
            self.issues.error(
                IssueCode.SCHEMA, file, line, f"{where}: reasoningContent belongs in assistant turns only"
            )
            return
        holder = value.get("reasoningText") if type(value) is dict else None
        text = holder.get("text") if type(holder) is dict else None
        if type(text) is not str:
            self.issues.error(
                IssueCode.SCHEMA,
                file,
                line,
                f'{where} must be {{"reasoningContent": {{"reasoningText": {{"text": "..."}}}}}}',
            )
        elif not text or text.isspace():
            self.issues.error(IssueCode.EMPTY_CONTENT, file, line, f"{where}.reasoningContent text is empty")
        else:
            self._extra_bytes += tokens.text_bytes(text)
            self._reserved(text, False, f"{where}.reasoningContent", file, line)

    def _media_item(self, kind: str, spec: Any, role: Any, where: str, file: str, line: int) -> int:
        rules = self.limits.media
        alias = self.model.alias
        if rules is None:
            hint = (
                f"{self.model.display_name} is text-only: use nova-lite or nova-pro for {kind}s"
                if self.technique is Technique.FINE_TUNING
                else f"{self.technique.value} data is text only: remove the {kind}"
            )
            self.issues.error(
                IssueCode.MEDIA_NOT_ALLOWED,
                file,
                line,
                f"{where}: {kind} items are not accepted for {alias} {self.technique.value}",
                hint,
            )
            return _OTHER
        formats = {
            "image": rules.image_formats,
            "video": rules.video_formats,
            "document": rules.document_formats,
        }[kind]
        if not formats:
            self.issues.error(
                IssueCode.MEDIA_NOT_ALLOWED,
                file,
                line,
                f"{where}: {kind} items are not accepted by {alias}",
                "documents are accepted by nova-2-lite only",
            )
            return _OTHER
        if role != "user":
            self.issues.error(
                IssueCode.MEDIA_NOT_ALLOWED,
                file,
                line,
                f"{where}: {kind} in a {role!r} turn; media belongs in user turns only",
                "move the media into the user message it illustrates",
            )
            return _OTHER
        if type(spec) is not dict:
            self.issues.error(
                IssueCode.SCHEMA, file, line, f"{where}.{kind} must be an object with format and source"
            )
            return _OTHER
        declared = spec.get("format")
        accepted: str | None = None
        if type(declared) is not str:
            self.issues.error(IssueCode.SCHEMA, file, line, f"{where}.{kind}.format is missing")
        elif declared not in formats:
            self.issues.error(
                IssueCode.MEDIA_FORMAT,
                file,
                line,
                f"{where}.{kind}.format is {declared!r}; {alias} accepts {', '.join(sorted(formats))}",
                _format_hint(declared, formats),
            )
        else:
            accepted = declared
        self._location(kind, spec.get("source"), accepted, where, file, line)
        return {"image": _IMAGE, "video": _VIDEO}.get(kind, _DOCUMENT)

    def _location(
        self, kind: str, source: Any, declared: str | None, where: str, file: str, line: int
    ) -> None:
        s3 = source.get("s3Location") if type(source) is dict else None
        uri = s3.get("uri") if type(s3) is dict else None
        if type(uri) is not str:
            if type(source) is dict and "bytes" in source:
                self.issues.error(
                    IssueCode.MEDIA_LOCATION,
                    file,
                    line,
                    f"{where}.{kind}: inline bytes are not accepted for customization",
                    "upload the file to the dataset's bucket and use source.s3Location.uri",
                )
            else:
                self.issues.error(
                    IssueCode.SCHEMA, file, line, f"{where}.{kind}.source.s3Location.uri is missing"
                )
            return
        bucket, _, key = uri[5:].partition("/") if uri.startswith("s3://") else ("", "", "")
        if not bucket or not key:
            self.issues.error(
                IssueCode.MEDIA_LOCATION, file, line, f"{where}.{kind}: {uri!r} is not an s3://bucket/key URI"
            )
            return
        if self.dataset_bucket is not None and bucket != self.dataset_bucket:
            self.issues.error(
                IssueCode.MEDIA_LOCATION,
                file,
                line,
                f"{where}.{kind} is in bucket {bucket!r}; the dataset is in {self.dataset_bucket!r}",
                "Bedrock reads media only from the dataset's own bucket: copy it there",
            )
            return
        self.media.add(MediaRef(file, line, kind, bucket, key, declared))

    def _record_media(self, images: int, videos: int, documents: int, file: str, line: int) -> None:
        rules = self.limits.media
        if rules is None:  # pragma: no cover - media items were rejected before counting
            return
        if images > rules.max_images:
            self.issues.error(
                IssueCode.MEDIA_LIMIT,
                file,
                line,
                f"{images} images in one record; at most {rules.max_images}",
            )
        if videos > rules.max_videos:
            self.issues.error(
                IssueCode.MEDIA_LIMIT,
                file,
                line,
                f"{videos} videos in one record; at most {rules.max_videos}",
            )
        if documents > rules.max_documents:
            self.issues.error(
                IssueCode.MEDIA_LIMIT,
                file,
                line,
                f"{documents} documents in one record; at most {rules.max_documents}",
            )
        if videos and (images or documents):
            self.issues.error(
                IssueCode.MIXED_MEDIA,
                file,
                line,
                "a record with a video cannot also carry images or documents",
                "keep the video alone with text, or split the record",
            )
            return  # already reported: not counted again at the dataset level
        tally = self.media
        if images:
            tally.image_records += 1
            if tally.first_image is None:
                tally.first_image = (file, line)
        if videos:
            tally.video_records += 1
            if tally.first_video is None:
                tally.first_video = (file, line)

    def _token_limit(self, estimate: int, file: str, line: int) -> None:
        context = self.limits.context_tokens or 0
        if estimate > self._reject_above:
            self.issues.error(
                IssueCode.TOKEN_LIMIT,
                file,
                line,
                f"about {estimate:,} tokens (estimated), far beyond the {context:,}-token context",
            )
        else:
            self.issues.warning(
                IssueCode.TOKEN_LIMIT,
                file,
                line,
                f"about {estimate:,} tokens (estimated), near or over the {context:,}-token context",
                "the estimate is rough (docs/datasets.md): shorten the record to be safe",
            )

    # --- dataset level --------------------------------------------------------------------------

    def absorb(self, other: ConversationChecker, offset: int, *, last: bool = False) -> None:
        """Merge a parallel scan worker's checker (its lines start after ``offset``)."""
        self.tokens_total += other.tokens_total
        self.tokens_max = max(self.tokens_max, other.tokens_max)
        self.media.absorb(other.media, offset)
        self.versions.absorb(other.versions, offset)
        self.dedupe.absorb(other.dedupe, offset, self.issues, last=last)

    def finish(self, training_file: str) -> None:
        tally = self.media
        if self.dataset_bucket is None and tally.refs:
            self._one_bucket(tally.refs)
        if tally.image_records and tally.video_records:
            assert tally.first_image is not None and tally.first_video is not None
            # Point at the record that broke the rule: the first one of the second modality.
            files = self.dedupe.files
            image_at, video_at = tally.first_image, tally.first_video
            second = max(image_at, video_at, key=lambda at: (files.index(at[0]), at[1]))
            self.issues.error(
                IssueCode.MIXED_MEDIA,
                second[0],
                second[1],
                f"the dataset mixes images ({tally.image_records:,} records, first at "
                f"{image_at[0]} line {image_at[1]}) and video ({tally.video_records:,} "
                f"records, first at {video_at[0]} line {video_at[1]})",
                keep=True,
            )
        versions = self.versions
        if versions.first is not None:
            file, line, version = versions.first
            self.issues.warning(
                IssueCode.SCHEMA,
                file,
                line,
                f"{versions.count:,} record(s) set schemaVersion to a value other than the documented "
                f"{SCHEMA_VERSION!r} (the first, here, to {version!r}); accepted: AWS allows any string",
                f'"{SCHEMA_VERSION}" is the documented value; or leave schemaVersion out',
                count=versions.count,
                keep=True,
            )

    def _one_bucket(self, refs: list[MediaRef]) -> None:
        """A local dataset will be uploaded to one bucket: all its media must already be there."""
        first = refs[0]
        for ref in refs:
            if ref.bucket != first.bucket:
                self.issues.error(
                    IssueCode.MEDIA_LOCATION,
                    ref.file,
                    ref.line,
                    f"{ref.kind} s3://{ref.bucket}/{ref.key} is in bucket {ref.bucket!r}, but the media at "
                    f"{first.file} line {first.line} is in {first.bucket!r}",
                    "all media must be in the one bucket the dataset is uploaded to",
                )


def _format_hint(declared: str, formats: frozenset[str]) -> str:
    lowered = declared.lower()
    if lowered == "jpg":
        lowered = "jpeg"
    if lowered in formats and lowered != declared:
        return f"write the format as {lowered!r}"
    return f"convert the file to one of {', '.join(sorted(formats))} and declare that format"
