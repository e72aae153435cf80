"""The exceptions in a server's log, counted: each traceback's final line."""

from __future__ import annotations

from scripts.services import serverlog
from scripts.services.serverlog import connection_errors, exceptions

TRACEBACK = """\
Internal Server Error: /sleep/async/
Traceback (most recent call last):
  File "/x/django/core/handlers/exception.py", line 56, in inner
    response = get_response(request)
RuntimeError: You cannot use AsyncToSync in the same thread as an async event loop
"""
CHAINED = """\
Traceback (most recent call last):
  File "/x/a.py", line 1, in f
KeyError: 'a'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/x/b.py", line 2, in g
django.core.exceptions.SynchronousOnlyOperation: You cannot call this from an async context
"""


def test_exceptions_are_counted_commonest_first(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("[INFO] Booting worker\n" + TRACEBACK * 3 + CHAINED
                   + "RuntimeError: not after a traceback, not counted\n")
    assert exceptions(log) == [  # a chain is one failure: its last exception
        ("RuntimeError: You cannot use AsyncToSync in the same thread as an async event loop", 3),
        ("django.core.exceptions.SynchronousOnlyOperation: You cannot call this from an"
         " async context", 1),
    ]
    assert exceptions(log, top=1)[0][1] == 3


def test_a_cut_traceback_and_a_missing_log_count_nothing(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("Traceback (most recent call last):\n  File \"x\"\n[INFO] shutting down\n")
    assert exceptions(log) == []
    assert exceptions(tmp_path / "absent.log") == []


def test_connection_errors_are_counted_apart():
    from scripts.services.serverlog import connection_errors

    found = [("psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients"
              " already", 4),
             ("psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec", 2),
             ("RuntimeError: You cannot use AsyncToSync in the same thread", 9)]
    assert connection_errors(found) == 6
    assert connection_errors([]) == 0


def test_a_connection_error_re_raised_by_django_counts_once(tmp_path):
    """psycopg's error, then Django's re-raise of it: one refused connection, not two."""
    refused = ("connection failed: connection to server at \"127.0.0.1\", port 5 failed:"
               " FATAL:  sorry, too many clients already")
    one = (f"Traceback (most recent call last):\n  File \"/x/psycopg.py\"\n"
           f"psycopg.OperationalError: {refused}\n\n"
           "The above exception was the direct cause of the following exception:\n\n"
           f"Traceback (most recent call last):\n  File \"/x/django.py\"\n"
           f"django.db.utils.OperationalError: {refused}\n")
    log = tmp_path / "server.log"
    log.write_text(one * 5 + "INFO: 127.0.0.1 - GET /catalog/sync 500\n" + one * 2)
    found = exceptions(log, top=None)
    assert found == [(f"django.db.utils.OperationalError: {refused}", 7)]
    assert connection_errors(found) == 7


def test_cap_keeps_the_head_whole_lines_and_says_what_the_whole_log_held(tmp_path):
    log = tmp_path / "server.log"
    tb = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
          "RuntimeError: You cannot use AsyncToSync here\n")
    log.write_text(tb * 2000)  # ~170 KB
    whole = serverlog.exceptions(log)
    cut = serverlog.cap(log, limit=10_000)
    text = log.read_text()
    head, last = text.rsplit("\n--- loadlab cut", 1) if "\n--- loadlab cut" in text else ("", "")
    assert cut > 0 and log.stat().st_size < 10_200
    assert head and tb.startswith(head.splitlines()[0] + "\n")  # whole lines kept
    assert f"{whole[0][1]} x RuntimeError" in last  # the count is the whole log's


def test_cap_leaves_a_small_log_alone(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("ok\n")
    assert serverlog.cap(log, limit=10) == 0
    assert log.read_text() == "ok\n"
