"""The machine meters: steal between readings in resources.csv's unit, and the fixed
reference workload."""

import pytest

from scripts.proc import machine


def test_steal_meter_reports_stolen_cpu_between_reads(monkeypatch):
    """0.5 s of steal over 1 s of wall = 50 % of one core; a counter that did not move
    reads 0, and one that went backwards (a hypervisor reset) never reads negative."""
    clock, steal = iter([10.0, 11.0, 13.0, 14.0]), iter([100.0, 100.5, 100.5, 100.0])
    monkeypatch.setattr(machine.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(machine, "_steal_s", lambda: next(steal))
    meter = machine.StealMeter()
    assert meter.read() == 50.0
    assert meter.read() == 0.0
    assert meter.read() == 0.0


def test_steal_meter_reads_this_machine():
    assert machine.StealMeter().read() >= 0.0


def test_reference_times_the_fixed_work():
    ref = machine.reference(repeats=3, loops=20_000)
    assert ref.seconds > 0 and ref.repeats == 3 and ref.loops == 20_000
    assert ref.steal_pct >= 0
    assert ref.to_json()["seconds"] == ref.seconds


@pytest.mark.alone  # a neighbour test on the other core slows the child as much
def test_loadlabs_own_busy_thread_does_not_slow_the_reference():
    """A thread of this process holding the GIL (as a server being stopped or an
    observer does in loadlab) halves the work timed in-process; the reference is timed
    in a child of its own, so it reads the machine, not loadlab. Two measurements of
    the same test, not a wall-clock bound."""
    import statistics
    import threading

    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    busy = threading.Thread(target=spin, daemon=True)
    busy.start()
    here, child = [], []
    try:  # interleaved, the least of each: this VM's seconds-long slow spells only add
        for _ in range(3):
            here.append(statistics.median(machine.timings(5, 200_000)))
            child.append(machine.reference(repeats=5, loops=200_000).seconds)
    finally:
        stop.set()
        busy.join()
    assert min(child) < 0.8 * min(here), (child, here)


def test_slower_than_is_a_fraction():
    fast = machine.Reference(0.010, 0.0, 15, 200_000)
    slow = machine.Reference(0.0123, 18.0, 15, 200_000)
    assert slow.slower_than(fast) == pytest.approx(0.23)
    assert fast.slower_than(slow) < 0


@pytest.mark.parametrize("child", ["import sys; sys.exit(3)", "print('not json')",
                                   "print('[0.01]')"])
def test_a_child_that_cannot_time_the_work_leaves_the_run_untimed(monkeypatch, child):
    """A real child that fails, prints garbage or too few timings: None, not a crash
    (bench then keeps no reference and compare does not check the machine)."""
    real = machine.subprocess.run

    def run(argv, **kwargs):
        return real([argv[0], "-c", child], **kwargs)

    monkeypatch.setattr(machine.subprocess, "run", run)
    assert machine.reference(repeats=3, loops=1000) is None


def test_timed_is_the_manifests_form_and_none_when_untimed(monkeypatch):
    assert machine.timed()["repeats"] == machine.REFERENCE_REPEATS
    monkeypatch.setattr(machine, "reference", lambda: None)
    assert machine.timed() is None


def test_the_spread_samples_only_when_due_and_keeps_what_it_timed():
    """A sample at most every `every_s` (the clock decides, not the cells); a short run
    keeps none, and says so with None."""
    now = [0.0]
    spread = machine.Spread(every_s=20.0, repeats=2, clock=lambda: now[0])
    assert not spread.due() and spread.to_json() is None
    now[0] = 20.0
    assert spread.due()
    spread.sample()  # a real child, two repeats of the fixed work
    assert not spread.due() and len(spread.seconds) == 1 and spread.seconds[0] > 0
    data = spread.to_json()
    assert data["repeats"] == 2 and data["every_s"] == 20.0 and data["seconds"] == spread.seconds
