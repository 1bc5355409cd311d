"""Turn library errors into messages the person at the browser can act on."""

from __future__ import annotations

import functools
import logging

import gradio as gr

log = logging.getLogger("bgtai.app")


def user_errors(fn):
    """Decorate a Gradio handler so bad input becomes a ``gr.Error`` and the app keeps serving.

    ``ValueError`` is the library's contract for bad input, so its message is shown as is.
    Anything else is a bug: it is logged with its traceback and the user gets a short notice
    instead of a stack trace.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        except Exception:
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error("Something went wrong on our side; the error was logged. "
                           "Try another input.") from None

    return wrapper


def clear_on_failure(event, outputs: list) -> None:
    """After a failed request of ``event``, empty its ``outputs``: nothing of an earlier request
    stays on screen as if it were the answer to this one (the error message says what went
    wrong)."""
    empty = [None] * len(outputs)
    event.failure(lambda: empty if len(empty) > 1 else None, None, outputs, api_name=False)
