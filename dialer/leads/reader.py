"""Reading lead files: CSV or tab-delimited, streamed row by row.

UTF-8 with or without BOM, CRLF or LF, quoted fields (with delimiters and
newlines inside). The file is never read whole: rows come out in batches.
Problems raise FileProblem naming the line (or the file when it is empty or
binary) so the caller can stop before anything is written.
"""

from __future__ import annotations

import codecs
import csv
import os
from dataclasses import dataclass
from typing import Iterator

CANDIDATE_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_BYTES = 64 * 1024
csv.field_size_limit(16 * 1024 * 1024)


class FileProblem(ValueError):
    """The file as a whole cannot be read; the message names file and line."""


@dataclass
class FileShape:
    delimiter: str
    header: list[str] | None        # None with --no-header
    width: int                      # columns in the first row


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise FileProblem(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileProblem(f"{path}: is a directory, not a file") from None


def _check_text(path: str, head: bytes) -> str:
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise FileProblem(f"{path}: the file is empty")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise FileProblem(f"{path}: looks like a binary file (NUL byte at offset {nul}), "
                          "not CSV or tab-delimited text")
    # Decode the sniffed part now for an early, precise error; the rest is
    # checked as it streams. A multi-byte character may be cut at the end.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(head, final=len(head) < _SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        line = head[:exc.start].count(b"\n") + 1
        raise FileProblem(f"{path}: line {line}: bytes {head[exc.start:exc.start + 4]!r} are not UTF-8 "
                          "(save the file as UTF-8)") from None


def detect_delimiter(sample: str) -> str:
    """The candidate seen most often (outside quotes) in the first line,
    preferring one that gives the same count on the next lines."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","

    def count(line: str, d: str) -> int:
        inside, n = False, 0
        for ch in line:
            if ch == '"':
                inside = not inside
            elif ch == d and not inside:
                n += 1
        return n

    best, best_score = ",", (0, 0)
    for d in CANDIDATE_DELIMITERS:
        first = count(lines[0], d)
        if not first:
            continue
        consistent = sum(1 for line in lines[1:] if count(line, d) == first)
        score = (consistent, first)
        if score > best_score:
            best, best_score = d, score
    return best


def sniff(path: str, *, delimiter: str | None = None, header: bool = True) -> FileShape:
    text = _check_text(path, _head(path))
    delim = delimiter or detect_delimiter(text)
    first = next(csv.reader(text.splitlines()[:1], delimiter=delim), [])
    if header:
        names = [h.strip() for h in first]
        if not any(names):
            raise FileProblem(f"{path}: line 1: the header row is empty")
        return FileShape(delim, names, len(first))
    return FileShape(delim, None, len(first))


def open_text(path: str):
    return open(path, "r", encoding="utf-8-sig", newline="", errors="strict")


def iter_batches(path: str, shape: FileShape, batch_size: int = 5000,
                 progress=None) -> Iterator[tuple[int, list[list[str]]]]:
    """(first data-row number, rows) batches; data rows are numbered from 1.

    `progress(bytes_read)` is called once a batch when given.
    """
    row_no = 1
    with open_text(path) as f:
        reader = csv.reader(f, delimiter=shape.delimiter, strict=False)
        try:
            if shape.header is not None:
                next(reader, None)
            batch: list[list[str]] = []
            start = row_no
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines are not rows
                batch.append(row)
                row_no += 1
                if len(batch) >= batch_size:
                    yield start, batch
                    if progress:
                        progress(f.buffer.tell() if hasattr(f, "buffer") else 0)
                    batch, start = [], row_no
            if batch:
                yield start, batch
        except UnicodeDecodeError:
            line, bad = locate_bad_utf8(path)
            raise FileProblem(f"{path}: line {line}: bytes {bad!r} are not UTF-8 "
                              "(save the file as UTF-8)") from None
        except csv.Error as exc:
            raise FileProblem(f"{path}: line {reader.line_num}: {exc}") from None


def locate_bad_utf8(path: str) -> tuple[int, bytes]:
    """(line number, bytes) of the first invalid UTF-8 in the file. The text
    layer decodes ahead in chunks, so the csv reader's line is not where it is."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = decoder.getstate()[0]  # bytes held over from the last chunk
                data = pending + chunk if pending else chunk
                return line + data[:exc.start].count(b"\n"), data[exc.start:exc.start + 4]
            line += chunk.count(b"\n")
    return line, b""


def file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
