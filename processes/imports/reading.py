"""Reading an import file: UTF-8 (a BOM is fine) decoded line by line so a bad byte is named by its offset, CSV
records numbered as a spreadsheet shows them (the header is row 1), the header checked against the kind's columns,
and the file's sha256 computed on the way."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from processes.imports.rows import MESSAGES

BOM = "\ufeff"


@dataclass(frozen=True)
class RowError:
    """One bad row and column (row 1 is the header; column "" is the row as a whole)."""

    row: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        text = MESSAGES[self.code]
        for name, value in self.params.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class FileRefused(Exception):
    """The file cannot be read as the kind's CSV at all (encoding, header): nothing past it is checked."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Source:
    """Where the bytes come from: a path (read twice: validated, then written) or bytes already in memory."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> IO[bytes]:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


class Reader:
    """Iterates the records of one pass over the file as (row number, {column: text}), or (row number, error) for a
    row with the wrong number of values; ``sha256`` and ``bytes_read`` are complete when the iteration ends."""

    def __init__(self, source: Source, columns: tuple[str, ...], on_bytes: Callable[[int], Any] | None = None) -> None:
        self.source = source
        self.columns = columns
        self.on_bytes = on_bytes
        self.digest = hashlib.sha256()
        self.bytes_read = 0
        self.line_number = 0

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def _lines(self, handle: IO[bytes]) -> Iterator[str]:
        for raw in handle:
            offset = self.bytes_read
            self.digest.update(raw)
            self.bytes_read += len(raw)
            self.line_number += 1
            if self.on_bytes is not None:
                self.on_bytes(len(raw))
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 1].hex()
                raise FileRefused(
                    RowError(self.line_number, "", "not_utf8", {"byte": f"0x{bad}", "offset": offset + exc.start})
                ) from None
            if "\x00" in line:  # no text column holds a NUL (PostgreSQL refuses it outright)
                raise FileRefused(
                    RowError(self.line_number, "", "nul_character", {"offset": offset + raw.index(b"\x00")})
                )
            if offset == 0 and line.startswith(BOM):
                line = line[1:]
            yield line

    def __iter__(self) -> Iterator[tuple[int, dict[str, str] | RowError]]:
        expected = ", ".join(self.columns)
        with self.source.open() as handle:
            records = csv.reader(self._lines(handle), strict=True)
            number = 0
            try:
                header = next(records, None)
                number = 1
                if header is None or not any(cell.strip() for cell in header):
                    raise FileRefused(RowError(1, "", "empty_file", {"expected": expected}))
                self._check_header([cell.strip() for cell in header])
                width = len(self.columns)
                for values in records:
                    number += 1
                    if not values or (len(values) == 1 and not values[0].strip()):
                        continue  # a blank line
                    if len(values) != width:
                        code = "missing_value" if len(values) < width else "extra_value"
                        yield number, RowError(number, "", code, {"found": len(values), "expected": width})
                        continue
                    yield number, dict(zip(self.columns, values, strict=True))
            except csv.Error as exc:
                raise FileRefused(RowError(number + 1, "", "not_csv", {"reason": str(exc)})) from None

    def _check_header(self, header: list[str]) -> None:
        expected = ", ".join(self.columns)
        seen: set[str] = set()
        errors = []
        for name in header:
            if name in seen:
                errors.append(RowError(1, name, "duplicate_column", {"column": name}))
            elif name not in self.columns:
                errors.append(RowError(1, name, "unknown_column", {"column": name, "expected": expected}))
            seen.add(name)
        errors += [
            RowError(1, name, "missing_column", {"column": name, "expected": expected})
            for name in self.columns
            if name not in seen
        ]
        if errors:
            raise HeaderRefused(errors)
        # the file's own column order is kept: map it onto the kind's names
        self.columns = tuple(header)


class HeaderRefused(Exception):
    """The header does not name exactly the kind's columns."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors
