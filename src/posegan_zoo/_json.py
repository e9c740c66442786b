"""Reading JSON a user gave us: every way it can fail becomes one typed error."""

import json
import pathlib


def read_json(path, error_type, what=None):
    """The parsed JSON of `path`; failures raise `error_type` naming the file.

    Covers a missing or unreadable file, text that is not UTF-8 or not JSON, integers too
    long for Python to convert, and nesting too deep to parse.

    >>> import pathlib, tempfile
    >>> from posegan_zoo.errors import DataFormatError
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "deep.json"
    >>> _ = path.write_text("[" * 100000 + "]" * 100000)
    >>> try:
    ...     read_json(path, DataFormatError)
    ... except DataFormatError as error:
    ...     print(str(error).split(":")[-1].strip())
    nested too deeply to read
    """
    path = pathlib.Path(path)
    where = f"{what} {path}" if what else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error_type(f"{where} does not exist.") from None
    except UnicodeDecodeError as error:
        raise error_type(f"{where}: not UTF-8 text: {error}.") from None
    except OSError as error:
        raise error_type(f"{where}: cannot read: {error.strerror or error}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise error_type(
            f"{where}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except RecursionError:
        raise error_type(f"{where}: nested too deeply to read") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise error_type(f"{where}: {error}") from None
