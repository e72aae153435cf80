"""loadlab's harness: config -> plan -> supervise -> run -> archive -> compare/render."""
