"""The only package that starts processes: signals, supervision, the services
(every command line), the load generator, resource sampling, the bench and the
interactive modes. It reports through observers (scripts/observe.py) and never
formats output itself."""
