"""The systems under test and around them: the servers' and the upstream stand-in's
command lines (servers), the database (SQLite or a throwaway PostgreSQL cluster, and
its statistics), a team's own project, and what a server's log says. Never imports
the verbs in run/."""
