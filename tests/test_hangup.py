"""The console leaves when its terminal hangs up (SSH link dropped, tmux killed)."""

from __future__ import annotations

import os
import threading

from ism_tui.hangup import terminal_lost, watch_terminal


def test_a_hung_up_terminal_is_noticed_and_a_live_one_is_not() -> None:
    master, slave = os.openpty()
    try:
        assert not terminal_lost([slave])
        lost = threading.Event()
        thread = watch_terminal([slave], interval=0.02, on_lost=lost.set)
        assert thread is not None
        assert not lost.wait(0.1)  # a live terminal keeps the console running
        os.close(master)  # what sshd or tmux does when the link goes: the pty hangs up
        master = -1
        assert lost.wait(2), "the hang-up was not noticed"
        assert terminal_lost([slave])
    finally:
        if master >= 0:
            os.close(master)
        os.close(slave)


def test_nothing_to_watch_without_a_terminal() -> None:
    assert watch_terminal([]) is None
