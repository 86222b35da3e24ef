"""The access log: who read an idea's protected content, or was refused, hash-chained."""
