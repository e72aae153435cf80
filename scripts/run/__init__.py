"""The verbs' orchestration, one module each: bench, capacity, calibrate, ui (with its
per-test cells, uitests), serve, and recover (a hard stop's survivors). A verb starts
processes through proc/, services/ and load/, reports through observers
(scripts/observe.py) and never formats output itself."""
