"""What must hold: properties by domain (commit, consensus, convergence, ...)."""
